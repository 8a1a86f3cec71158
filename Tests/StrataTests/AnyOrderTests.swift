import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// Writes in any order against a reference model: random transactions of in-order, late and
/// out-of-order appends (row and batch API), ties, dedup and plain tables, range deletes, drops,
/// failed transactions, compactions and reopens. After every step each symbol reads back exactly
/// the model's rows, in time order with ties in the order written, and the database verifies.
@Suite struct AnyOrderTests {
    /// The model of one table: rows per symbol in read order. A dedup table keeps the last row per time.
    struct TableModel {
        var dedup: Bool
        var rows: [String: [(time: Int64, values: [Int64])]] = [:]

        mutating func append(_ symbol: String, _ time: Int64, _ values: [Int64]) {
            var list = rows[symbol, default: []]
            if dedup { list.removeAll { $0.time == time } }
            let at = list.firstIndex { $0.time > time } ?? list.count
            list.insert((time, values), at: at)
            rows[symbol] = list
        }

        mutating func delete(_ symbols: [String]?, from: Int64, to: Int64?) -> Int {
            var n = 0
            for s in symbols ?? Array(rows.keys) {
                guard let list = rows[s] else { continue }
                let kept = list.filter { row in row.time < from || (to.map { row.time >= $0 } ?? false) }
                n += list.count - kept.count
                rows[s] = kept
            }
            return n
        }
    }

    static let schema = Schema(columns: [Column("p", .float64), Column("v", .int64)])
    static let symbols = ["a", "b", "c"]

    static func check(_ db: Database, _ model: [String: TableModel], _ what: String) throws {
        let snap = try db.snapshot()
        #expect(Set(snap.tables) == Set(model.keys), "\(what): tables")
        for (table, m) in model {
            let expected = m.rows.filter { !$0.value.isEmpty }
            #expect(snap.symbols(of: table) == expected.keys.sorted(by: utf8Less), "\(what): symbols of \(table)")
            for (symbol, rows) in expected {
                var got: [(Int64, [Int64])] = []
                try snap.scan(table, symbol: symbol) { batch in
                    let times = try batch.times, p = try batch.float64(0), v = try batch.int64(1)
                    for r in batch.rows { got.append((times[r], [Int64(bitPattern: p[r].bitPattern), v[r]])) }
                }
                let same = got.count == rows.count && zip(got, rows).allSatisfy { $0.0 == $1.time && $0.1 == $1.values }
                #expect(same, "\(what): \(table)/\(symbol): got \(got.map(\.0)), want \(rows.map(\.time))")
                #expect(snap.rowCount(table, symbol: symbol) == rows.count, "\(what): row count of \(table)/\(symbol)")
            }
        }
    }

    /// Random times for one append: a sorted run after, before or inside the existing rows, or a shuffle.
    static func times(_ rng: inout SplitMix, count: Int) -> [Int64] {
        let base = Int64(rng.next() % 300)
        var t = (0..<count).map { _ in base + Int64(rng.next() % 40) }
        switch rng.next() % 4 {
        case 0: t.sort()
        case 1: t.sort(by: >)
        default: break
        }
        return t
    }

    /// Seeds per run: 12 in the suite; `STRATA_ANYORDER_SEEDS` runs more (the reliability job).
    static let seeds = UInt64(ProcessInfo.processInfo.environment["STRATA_ANYORDER_SEEDS"] ?? "") ?? 12

    @Test(arguments: 0..<seeds)
    func randomWritesMatchTheModel(seed: UInt64) throws {
        let dir = TempDir("strata-anyorder")
        defer { dir.cleanup() }
        var rng = SplitMix(seed: seed &* 7919 &+ 13)
        let options = DatabaseOptions(blockRows: 1 + Int(rng.next() % 8))
        var db = try Database.open(dir.path, options: options)
        var model: [String: TableModel] = [:]
        try db.write { tx in
            try tx.createTable("plain", schema: Self.schema)
            var keyed = Self.schema
            keyed.dedup = true
            try tx.createTable("keyed", schema: keyed)
        }
        model["plain"] = TableModel(dedup: false)
        model["keyed"] = TableModel(dedup: true)
        for step in 0..<40 {
            let what = "seed \(seed) step \(step)"
            switch rng.next() % 10 {
            case 0:
                _ = try db.compact()
            case 1:
                db.close()
                db = try Database.open(dir.path, options: options)
            case 2:
                // A transaction that fails leaves nothing.
                _ = try? db.write { tx in
                    try tx.append(to: "plain", symbol: "a", time: 1, values: [.float64(1), .int64(1)])
                    _ = try tx.delete(from: "keyed", from: 0)
                    throw StrataError(.badInput, "rolled back")
                }
            case 3 where model.count == 2:
                let table = rng.next() % 2 == 0 ? "plain" : "keyed"
                try db.write { tx in
                    try tx.dropTable(table)
                    var s = Self.schema
                    s.dedup = table == "keyed"
                    try tx.createTable(table, schema: s)
                    try tx.append(to: table, symbol: "c", time: 7, values: [.float64(0.5), .int64(70)])
                }
                model[table] = TableModel(dedup: table == "keyed")
                model[table]!.append("c", 7, [Int64(bitPattern: (0.5).bitPattern), 70])
            default:
                try db.write { tx in try Self.randomTransaction(tx, &model, &rng) }
            }
            try Self.check(db, model, what)
        }
        db.close()
        let report = Database.verify(dir.path)
        #expect(report.isIntact, "\(report.problems)")
        let reopened = try Database.open(dir.path, options: .readOnly)
        try Self.check(reopened, model, "seed \(seed), reopened")
    }

    /// Appends (row or batch API) to random symbols of both tables, and sometimes a range delete.
    static func randomTransaction(_ tx: Transaction, _ model: inout [String: TableModel], _ rng: inout SplitMix) throws {
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            let table = rng.next() % 2 == 0 ? "plain" : "keyed"
            let symbol = symbols[Int(rng.next() % 3)]
            if rng.next() % 5 == 0 {
                let from = Int64(rng.next() % 300)
                let to: Int64? = rng.next() % 3 == 0 ? nil : from + Int64(rng.next() % 60)
                let chosen: [String]? = rng.next() % 2 == 0 ? nil : [symbol]
                let deleted = try tx.delete(from: table, symbols: chosen, from: from, to: to)
                #expect(deleted == model[table]!.delete(chosen, from: from, to: to), "rows deleted")
                continue
            }
            let times = Self.times(&rng, count: 1 + Int(rng.next() % 30))
            let p = times.map { _ in Double(rng.next() % 10_000) / 8 }
            let v = times.map { _ in Int64(rng.next() % 1_000) - 500 }
            if rng.next() % 2 == 0 {
                try tx.append(to: table, symbol: symbol, times: times, columns: [.float64(p), .int64(v)])
            } else {
                for i in times.indices { try tx.append(to: table, symbol: symbol, time: times[i], values: [.float64(p[i]), .int64(v[i])]) }
            }
            for i in times.indices { model[table]!.append(symbol, times[i], [Int64(bitPattern: p[i].bitPattern), v[i]]) }
        }
    }

    /// Late rows exactly at, just before and just after each block's first and last time, in plain
    /// and dedup tables, one commit each; and range deletes that remove whole blocks, part of a block
    /// and everything of a symbol.
    @Test(arguments: [false, true])
    func lateRowsAndDeletesAtBlockBoundaries(dedup: Bool) throws {
        let dir = TempDir("strata-boundaries")
        defer { dir.cleanup() }
        var schema = Self.schema
        schema.dedup = dedup
        let existing: [Int64] = [10, 20, 30, 40, 50, 60, 70, 80, 80, 90]  // blocks of 4: [10…40] [50…80] [80, 90]
        let probes: [Int64] = [9, 10, 11, 39, 40, 41, 49, 50, 51, 79, 80, 81, 89, 90, 91]
        // A database of blocks of 4 holding `existing` for `symbols`, and its model.
        func seeded(_ path: String, symbols: [String]) throws -> (Database, [String: TableModel]) {
            let db = try Database.open(path, options: DatabaseOptions(blockRows: 4))
            var model = ["t": TableModel(dedup: dedup)]
            try db.write { tx in
                try tx.createTable("t", schema: schema)
                for s in symbols {
                    for (i, t) in existing.enumerated() {
                        try tx.append(to: "t", symbol: s, time: t, values: [.float64(Double(i)), .int64(Int64(i))])
                        model["t"]!.append(s, t, [Int64(bitPattern: Double(i).bitPattern), Int64(i)])
                    }
                }
            }
            return (db, model)
        }
        for probe in probes {
            let path = dir.sub("p\(probe)")
            var (db, model) = try seeded(path, symbols: ["a"])
            try db.write { tx in try tx.append(to: "t", symbol: "a", time: probe, values: [.float64(-1), .int64(-1)]) }
            model["t"]!.append("a", probe, [Int64(bitPattern: (-1.0).bitPattern), -1])
            try Self.check(db, model, "dedup \(dedup), late row at \(probe)")
            db.close()
            #expect(Database.verify(path).isIntact)
        }
        let ranges: [(Int64, Int64?)] = [(10, 50), (50, 81), (45, 46), (30, 60), (35, 36), (0, nil), (80, 81), (90, nil)]
        for (from, to) in ranges {
            let path = dir.sub("d\(from)-\(to ?? -1)")
            var (db, model) = try seeded(path, symbols: ["a", "b"])
            let deleted = try db.write { tx in try tx.delete(from: "t", symbols: ["a"], from: from, to: to) }
            #expect(deleted == model["t"]!.delete(["a"], from: from, to: to))
            try Self.check(db, model, "dedup \(dedup), delete [\(from), \(String(describing: to)))")
            db.close()
            #expect(Database.verify(path).isIntact)
        }
    }

    /// A snapshot taken before a commit that merges, deletes and drops keeps reading what it saw;
    /// the dropped table's file goes once the last such snapshot does.
    @Test func snapshotsKeepTheirRowsAcrossRewritesAndDrops() throws {
        let dir = TempDir("strata-rewrite-snapshots")
        defer { dir.cleanup() }
        // No background compaction: this counts the files a commit leaves.
        let db = try Database.open(dir.path, options: DatabaseOptions(blockRows: 4, autoCompaction: .off))
        try db.write { tx in
            try tx.createTable("keep", schema: Self.schema)
            try tx.createTable("gone", schema: Self.schema)
            for t in Int64(0)..<20 {
                try tx.append(to: "keep", symbol: "a", time: t * 10, values: [.float64(Double(t)), .int64(t)])
                try tx.append(to: "gone", symbol: "a", time: t, values: [.float64(1), .int64(1)])
            }
        }
        var before: Snapshot? = try db.snapshot()
        let goneFiles = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sdf") }
        try db.write { tx in
            try tx.append(to: "keep", symbol: "a", time: 55, values: [.float64(-1), .int64(-1)])  // a late row
            _ = try tx.delete(from: "keep", from: 100, to: 150)
            try tx.dropTable("gone")
        }
        var old = 0, now = 0
        try before!.scan("keep", symbol: "a") { old += $0.count }
        try before!.scan("gone", symbol: "a") { old += $0.count }
        try db.snapshot().scan("keep", symbol: "a") { now += $0.count }
        #expect(old == 40 && now == 16)
        #expect(try db.snapshot().tables == ["keep"])
        before = nil
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sdf") }
        #expect(left.count == goneFiles.count - 1, "the dropped table's file is removed with the last snapshot: \(goneFiles) -> \(left)")
        db.close()
        #expect(Database.verify(dir.path).isIntact)
    }
}
