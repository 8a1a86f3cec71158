import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// Nulls, text and changing columns against a reference model: random transactions append rows
/// (row and batch API, any time order) with nulls in every column type and position, text from a
/// few and from many distinct values (empty, commas, quotes, line breaks, multi-byte UTF-8); columns
/// are added, dropped and renamed between commits; compactions and reopens come in between. After
/// every step every value reads back exactly, and queries (counts, min/max/first/last, IS NULL,
/// text filters, GROUP BY text) agree with the model.
@Suite struct ValuesTests {
    struct ModelColumn {
        var name: String
        var type: ColumnType
        var id: UInt32
    }

    /// The table: its columns (as the schema has them) and rows per symbol in time order, values by column id.
    struct Model {
        var columns: [ModelColumn]
        var nextID: UInt32
        var rows: [String: [(time: Int64, values: [UInt32: Value])]] = [:]

        func value(_ row: (time: Int64, values: [UInt32: Value]), _ c: ModelColumn) -> Value { row.values[c.id] ?? .null }
    }

    static let words = ["B", "S", "SZSE", "SSE", "", "a,b", "say \"hi\"", "two\nlines", "ümlaut", "東京", "x"]

    static func randomValue(_ type: ColumnType, _ rng: inout SplitMix, nullRate: UInt64) -> Value {
        if rng.next() % 100 < nullRate { return .null }
        switch type {
        case .int64: return .int64(Int64(rng.next() % 2000) - 1000)
        case .float64: return .float64(Double(Int64(rng.next() % 100_000) - 50_000) / 1000)
        case .string:
            return rng.next() % 4 == 0 ? .string("w\(rng.next() % 300)") : .string(words[Int(rng.next() % UInt64(words.count))])
        }
    }

    /// One step: appends (mostly) or a change of columns.
    static func step(_ db: Database, _ model: inout Model, _ rng: inout SplitMix, usedTimes: inout [String: Set<Int64>]) throws {
        let kind = rng.next() % 10
        if kind == 0 && model.columns.count < 8 {
            let type = ColumnType.allCases[Int(rng.next() % 3)]
            let name = "c\(model.nextID)"
            try db.write { tx in try tx.addColumn(name, type, to: "t") }
            model.columns.append(ModelColumn(name: name, type: type, id: model.nextID))
            model.nextID += 1
            return
        }
        if kind == 1 && model.columns.count > 1 {
            let i = Int(rng.next() % UInt64(model.columns.count))
            try db.write { tx in try tx.dropColumn(model.columns[i].name, from: "t") }
            model.columns.remove(at: i)
            return
        }
        if kind == 2 {
            let i = Int(rng.next() % UInt64(model.columns.count))
            let name = "r\(rng.next() % 1000)_\(model.columns[i].id)"
            try db.write { tx in try tx.renameColumn(model.columns[i].name, to: name, in: "t") }
            model.columns[i].name = name
            return
        }
        try appendRows(db, &model, &rng, usedTimes: &usedTimes)
    }

    static func appendRows(_ db: Database, _ model: inout Model, _ rng: inout SplitMix, usedTimes: inout [String: Set<Int64>]) throws {
        let symbol = ["a", "b", "c"][Int(rng.next() % 3)]
        let n = Int(rng.next() % 3000) + 1
        let nullRate = [0, 5, 50, 100][Int(rng.next() % 4)]
        var times: [Int64] = []
        while times.count < n {  // distinct times per symbol, in any order
            let t = Int64(rng.next() % 100_000)
            if usedTimes[symbol, default: []].insert(t).inserted { times.append(t) }
        }
        if rng.next() % 2 == 0 { times.sort() }
        let rows = times.map { t in (t, model.columns.map { randomValue($0.type, &rng, nullRate: UInt64(nullRate)) }) }
        let columns = model.columns
        let batch = rng.next() % 2 == 0
        try db.write { tx in
            if batch {
                let values: [ColumnValues] = columns.indices.map { c in
                    switch columns[c].type {
                    case .int64: .optionalInt64(rows.map { if case .int64(let v) = $0.1[c] { v } else { nil } })
                    case .float64: .optionalFloat64(rows.map { if case .float64(let v) = $0.1[c] { v } else { nil } })
                    case .string: .string(rows.map { if case .string(let v) = $0.1[c] { v } else { nil } })
                    }
                }
                try tx.append(to: "t", symbol: symbol, times: times, columns: values)
            } else {
                for (t, v) in rows { try tx.append(to: "t", symbol: symbol, time: t, values: v) }
            }
        }
        var list = model.rows[symbol, default: []]
        for (t, v) in rows {
            var byID: [UInt32: Value] = [:]
            for (c, x) in zip(columns, v) { byID[c.id] = x }
            list.append((t, byID))
        }
        list.sort { $0.time < $1.time }
        model.rows[symbol] = list
    }

    static func checkValues(_ snap: Snapshot, _ model: Model, _ what: String) throws {
        let schema = try #require(snap.schema(of: "t"))
        #expect(schema.columns.map(\.name) == model.columns.map(\.name), "\(what): columns")
        #expect(schema.columns.map(\.type) == model.columns.map(\.type), "\(what): types")
        let info = try snap.info("t")
        #expect(info.rows == model.rows.values.reduce(0) { $0 + $1.count } && info.columns.count == model.columns.count + 1, "\(what): info")
        for (symbol, rows) in model.rows {
            var got: [(Int64, [Value])] = []
            try snap.scan("t", symbol: symbol) { batch in
                let times = try batch.times
                for r in batch.rows { got.append((times[r], try model.columns.indices.map { try batch.value($0, r) })) }
            }
            #expect(got.count == rows.count, "\(what): \(symbol) rows")
            for (g, m) in zip(got, rows) {
                let want = model.columns.map { model.value(m, $0) }
                let same = g.0 == m.time && zip(g.1, want).allSatisfy { $0.isIdentical(to: $1) }
                if !same {
                    Issue.record("\(what): \(symbol) at \(m.time): got \(g.1), want \(want)")
                    return
                }
            }
        }
    }

    /// The model's answer for one aggregate over one symbol's rows.
    static func expected(_ f: String, _ values: [Value]) -> ResultValue {
        let present = values.filter { $0 != .null }
        func result(_ v: Value?) -> ResultValue {
            switch v {
            case .int64(let x)?: .int(x)
            case .float64(let x)?: .float(x)
            case .string(let s)?: .string(s)
            default: .null
            }
        }
        func less(_ a: Value, _ b: Value) -> Bool {
            switch (a, b) {
            case (.int64(let x), .int64(let y)): x < y
            case (.float64(let x), .float64(let y)): x < y
            case (.string(let x), .string(let y)): utf8Less(x, y)
            default: false
            }
        }
        switch f {
        case "count": return .int(Int64(present.count))
        case "min": return result(present.min(by: less))
        case "max": return result(present.max(by: less))
        case "first": return result(present.first)
        default: return result(present.last)
        }
    }

    static func checkQueries(_ snap: Snapshot, _ model: Model, _ what: String) throws {
        for c in model.columns {
            let q = "\"\(c.name)\""
            let r = try snap.query("SELECT symbol, count(*), count(\(q)), min(\(q)), max(\(q)), first(\(q)), last(\(q)) FROM t GROUP BY symbol ORDER BY symbol")
            for row in r.rows {
                guard case .string(let symbol) = row[0], let rows = model.rows[symbol] else { continue }
                let values = rows.map { model.value($0, c) }
                let want: [ResultValue] = [.int(Int64(rows.count))] + ["count", "min", "max", "first", "last"].map { expected($0, values) }
                let got = Array(row.dropFirst())
                #expect(zip(got, want).allSatisfy { $0 == $1 || ($0.double != nil && $0.double == $1.double) }, "\(what): \(c.name) of \(symbol): got \(got), want \(want)")
            }
            let all = model.rows.values.flatMap { $0 }.map { model.value($0, c) }
            let nulls = try snap.query("SELECT count(*) FROM t WHERE \(q) IS NULL")
            #expect(nulls[0, 0] == .int(Int64(all.filter { $0 == .null }.count)), "\(what): \(c.name) IS NULL")
            let notNulls = try snap.query("SELECT count(*) FROM t WHERE \(q) IS NOT NULL")
            #expect(notNulls[0, 0] == .int(Int64(all.filter { $0 != .null }.count)), "\(what): \(c.name) IS NOT NULL")
            if c.type == .string { try checkTextQueries(snap, all, q, what) }
        }
    }

    static func checkTextQueries(_ snap: Snapshot, _ all: [Value], _ q: String, _ what: String) throws {
        for word in ["B", "", "ümlaut", "nowhere"] {
            let eq = try snap.query("SELECT count(*) FROM t WHERE \(q) = '\(word)'")
            #expect(eq[0, 0] == .int(Int64(all.filter { $0 == .string(word) }.count)), "\(what): \(q) = '\(word)'")
            let ne = try snap.query("SELECT count(*) FROM t WHERE \(q) != '\(word)'")
            #expect(ne[0, 0] == .int(Int64(all.filter { $0 != .null && $0 != .string(word) }.count)), "\(what): \(q) != '\(word)'")
        }
        let inList = try snap.query("SELECT count(*) FROM t WHERE \(q) IN ('S', 'SSE', '東京')")
        #expect(inList[0, 0] == .int(Int64(all.filter { [.string("S"), .string("SSE"), .string("東京")].contains($0) }.count)), "\(what): IN")
        let groups = try snap.query("SELECT \(q), count(*) FROM t GROUP BY \(q)")
        var counts: [String: Int64] = [:]
        for v in all {
            if case .string(let s) = v { counts["s:" + s, default: 0] += 1 } else { counts["null", default: 0] += 1 }
        }
        var got: [String: Int64] = [:]
        for row in groups.rows {
            guard case .int(let n) = row[1] else { continue }
            if case .string(let s) = row[0] { got["s:" + s] = n } else { got["null"] = n }
        }
        #expect(got == counts, "\(what): GROUP BY \(q)")
    }

    @Test(arguments: 0..<6)
    func randomValuesMatchTheModel(seed: Int) throws {
        var rng = SplitMix(seed: UInt64(seed) &* 0x9E37_79B9 &+ 13)
        let dir = TempDir("strata-values")
        defer { dir.cleanup() }
        var db = try Database.open(dir.sub("db"), options: DatabaseOptions(blockRows: [64, 512, 8192][seed % 3]))
        let initial: [ModelColumn] = [.init(name: "i", type: .int64, id: 0), .init(name: "f", type: .float64, id: 1), .init(name: "s", type: .string, id: 2)]
        try db.write { tx in try tx.createTable("t", schema: Schema(columns: initial.map { Column($0.name, $0.type) })) }
        var model = Model(columns: initial, nextID: 3)
        var used: [String: Set<Int64>] = [:]
        for i in 0..<14 {
            try Self.step(db, &model, &rng, usedTimes: &used)
            if i % 5 == 4 { _ = try db.compact() }
            if i % 4 == 3 {
                db.close()
                db = try Database.open(dir.sub("db"), options: DatabaseOptions(blockRows: [64, 512, 8192][seed % 3]))
            }
            try Self.checkValues(try db.snapshot(), model, "seed \(seed) step \(i)")
        }
        try Self.checkQueries(try db.snapshot(), model, "seed \(seed)")
        #expect(Database.verify(dir.sub("db")).isIntact)
        db.close()
    }

    /// Symbols and text sort by their UTF-8 bytes: `utf8Less` (and `ByteString`'s order) against
    /// a comparison of byte arrays, on random strings of short and long (heap) lengths, with
    /// multi-byte characters, prefixes of each other, and canonically equal text in other bytes.
    @Test func textOrderIsByteOrder() {
        let pieces = ["", "a", "b", "Z", "0", "159148", "é", "e\u{301}", "東京", "😀", "\u{7F}", "\u{80}", "ß", "zzzzzzzzzzzzzzzz"]
        var rng = SplitMix(seed: 7)
        var strings = pieces
        for _ in 0..<400 {
            var s = ""
            for _ in 0..<Int(rng.next() % 6) { s += pieces[Int(rng.next() % UInt64(pieces.count))] }
            strings.append(s)
            if !s.isEmpty { strings.append(String(s.dropLast())) }
        }
        var wrong = 0
        for a in strings {
            for _ in 0..<20 {
                let b = strings[Int(rng.next() % UInt64(strings.count))]
                let expected = Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
                if utf8Less(a, b) != expected || (ByteString(a) < ByteString(b)) != expected { wrong += 1 }
            }
        }
        #expect(wrong == 0)
        #expect(utf8Less("e", "é") && !utf8Less("é", "e\u{301}") && utf8Less("e\u{301}", "é"))
    }
}
