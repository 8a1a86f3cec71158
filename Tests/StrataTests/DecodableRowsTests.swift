import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// Rows decoded into the caller's own types (`Snapshot.query(_:as:)`), and `batchRows` honoured.
@Suite struct DecodableRowsTests {
    struct Bar: Decodable, Equatable {
        let symbol: String
        let ts: Date
        let close: Double
        let volume: Int64
        let side: String?
        let note: Int?
    }

    struct Renamed: Decodable, Equatable {
        let time: Int64
        let price: Float
        let small: Int32
        enum CodingKeys: String, CodingKey {
            case time = "ts"
            case price = "close"
            case small = "volume"
        }
    }

    static func database(_ dir: TempDir, unit: TimeUnit = .milliseconds) throws -> Database {
        let db = try Database.open(dir.sub("db"))
        try db.write { tx in
            try tx.createTable("bars", schema: Schema(timeUnit: unit, columns: [
                Column("close", .float64), Column("volume", .int64), Column("side", .string), Column("note", .int64),
            ]))
            try tx.append(to: "bars", symbol: "159363", time: 1_700_000_000_000 / (unit == .seconds ? 1_000 : 1), values: [.float64(1.5), .int64(300), .string("B"), .null])
            try tx.append(to: "bars", symbol: "159363", time: 1_700_000_060_000 / (unit == .seconds ? 1_000 : 1), values: [.float64(-0.25), .int64(7), .null, .int64(-4)])
        }
        return db
    }

    @Test func rowsDecodeByColumnName() throws {
        let dir = TempDir("strata-decode")
        defer { dir.cleanup() }
        let db = try Self.database(dir)
        let bars = try db.snapshot().query("SELECT symbol, ts, close, volume, side, note FROM bars", as: Bar.self)
        #expect(bars == [
            Bar(symbol: "159363", ts: Date(timeIntervalSince1970: 1_700_000_000), close: 1.5, volume: 300, side: "B", note: nil),
            Bar(symbol: "159363", ts: Date(timeIntervalSince1970: 1_700_000_060), close: -0.25, volume: 7, side: nil, note: -4),
        ])
        let renamed = try db.snapshot().query("SELECT ts, close, volume FROM bars", as: Renamed.self)
        #expect(renamed == [Renamed(time: 1_700_000_000_000, price: 1.5, small: 300), Renamed(time: 1_700_000_060_000, price: -0.25, small: 7)])
        db.close()
    }

    @Test func datesFollowTheTableUnit() throws {
        let dir = TempDir("strata-decode-unit")
        defer { dir.cleanup() }
        let db = try Self.database(dir, unit: .seconds)
        struct T: Decodable { let ts: Date; let t: Int64; enum CodingKeys: String, CodingKey { case ts; case t = "ts2" } }
        let rows = try db.snapshot().query("SELECT ts, ts AS ts2 FROM bars", as: T.self)
        #expect(rows.map(\.ts) == [Date(timeIntervalSince1970: 1_700_000_000), Date(timeIntervalSince1970: 1_700_000_060)])
        #expect(rows.map(\.t) == [1_700_000_000, 1_700_000_060])
        db.close()
    }

    @Test func errorsNameTheColumn() throws {
        let dir = TempDir("strata-decode-errors")
        defer { dir.cleanup() }
        let db = try Self.database(dir)
        let snap = try db.snapshot()
        struct Missing: Decodable { let vwap: Double? }
        struct NullInto: Decodable { let side: String }
        struct Mistyped: Decodable { let side: Double }
        struct TooSmall: Decodable { let volume: Int8 }
        let cases: [(String, () throws -> Void)] = [
            ("no column named vwap", { _ = try snap.query("SELECT close FROM bars", as: Missing.self) }),
            ("column side is null", { _ = try snap.query("SELECT side FROM bars", as: NullInto.self) }),
            ("column side", { _ = try snap.query("SELECT side FROM bars", as: Mistyped.self) }),
            ("column volume: 300 does not fit in Int8", { _ = try snap.query("SELECT volume FROM bars", as: TooSmall.self) }),
        ]
        for (message, body) in cases {
            do {
                try body()
                Issue.record("no error for \(message)")
            } catch let e as StrataError {
                #expect(e.kind == .badInput && e.message.contains(message), "\(e.message)")
            }
        }
        db.close()
    }

    @Test(arguments: [1, 3, 1_000]) func batchesHaveTheRowsAskedFor(batchRows: Int) throws {
        let dir = TempDir("strata-batches")
        defer { dir.cleanup() }
        let db = try Database.open(dir.sub("db"))
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("v", .int64)]))
            for s in ["a", "b"] { try tx.append(to: "t", symbol: s, times: Array(0..<5_000), columns: [.int64(Array(0..<5_000))]) }
        }
        var sizes: [Int] = []
        try db.snapshot().query(try SQLParser.parse("SELECT v FROM t"), batchRows: batchRows) { sizes.append($0.rowCount) }
        #expect(sizes.dropLast().allSatisfy { $0 == batchRows }, "\(sizes.prefix(5))")
        #expect(sizes.reduce(0, +) == 10_000 && sizes.last! <= batchRows && sizes.last! > 0)
        db.close()
    }

    /// A resampling of many symbols comes in parts (a few thousand groups each, per share of the
    /// symbols): handed out in batches of exactly the rows asked for, in order, the same rows as
    /// one batch of everything.
    @Test(arguments: [1, 7, 4_096, 5_000, 100_000]) func groupsInPartsComeInBatches(batchRows: Int) throws {
        let dir = TempDir("strata-parts")
        defer { dir.cleanup() }
        let db = try Database.open(dir.sub("db"))
        var rng = SplitMix(seed: UInt64(batchRows))
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("v", .int64), Column("p", .float64)]))
            for s in 0..<24 {
                let n = 1_000 + Int(rng.next() % 2_000)
                let times = (0..<n).map { Int64($0) * 60_000 + Int64(s) }
                let values = (0..<n).map { _ in Int64(rng.next() % 1_000) }
                try tx.append(to: "t", symbol: "s\(100 + s)", times: times, columns: [.int64(values), .float64(values.map { Double($0) / 8 })])
            }
        }
        let q = try SQLParser.parse("SELECT symbol, ts, sum(v), last(p), count(*) FROM t SAMPLE BY 1m")
        let snap = try db.snapshot()
        let whole = try snap.query(q)
        #expect(whole.rowCount > 30_000)
        var sizes: [Int] = []
        var rows: [[ResultValue]] = []
        try snap.query(q, batchRows: batchRows) { (b) throws(StrataError) in
            sizes.append(b.rowCount)
            #expect(b.names == whole.names)
            for r in 0..<b.rowCount { rows.append((0..<b.columns.count).map { b[r, $0] }) }
        }
        #expect(sizes.dropLast().allSatisfy { $0 == batchRows } && sizes.last! <= batchRows && sizes.last! > 0)
        #expect(rows.count == whole.rowCount)
        let same = rows.indices.allSatisfy { r in rows[r] == (0..<whole.columns.count).map { whole[r, $0] } }
        #expect(same)
        // No rows: one empty batch.
        var calls = 0
        try snap.query(try SQLParser.parse("SELECT symbol, ts, sum(v) FROM t WHERE ts < 0 SAMPLE BY 1m"), batchRows: batchRows) {
            (b) throws(StrataError) in
            calls += 1
            #expect(b.rowCount == 0 && b.names.count == 3)
        }
        #expect(calls == 1)
        db.close()
    }
}

/// Dates at the API's edge: appended, scanned by range, and decoded, in every unit.
@Suite struct DateEdgeTests {
    @Test(arguments: TimeUnit.allCases) func datesGoInAndComeOut(unit: TimeUnit) throws {
        let dir = TempDir("strata-dates")
        defer { dir.cleanup() }
        let db = try Database.open(dir.sub("db"))
        let t0 = Date(timeIntervalSince1970: 1_755_653_400)
        try db.write { tx in
            try tx.createTable("t", schema: Schema(timeUnit: unit, columns: [Column("v", .int64)]))
            for k in 0..<5 { try tx.append(to: "t", symbol: "s", time: t0.addingTimeInterval(Double(k) * 60), values: [.int64(Int64(k))]) }
        }
        let snap = try db.snapshot()
        var seen: [Int64] = []
        try snap.scan("t", symbol: "s", from: t0.addingTimeInterval(60), to: t0.addingTimeInterval(240)) { b in
            seen += try b.times.map { $0 }
        }
        #expect(seen.map { unit.date($0) } == [1, 2, 3].map { t0.addingTimeInterval(Double($0) * 60) })
        #expect(try snap.query("SELECT v FROM t")["v"]?.count == 5)
        #expect(try snap.query("SELECT v FROM t")["nope"] == nil)
        db.close()
    }
}
