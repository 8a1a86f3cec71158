import Testing
@testable import Strata
@testable import StrataTools

/// The reference model: every committed row, per table and symbol, in append order.
struct Model {
    struct Row: Equatable { var time: Int64; var values: [Int64] }
    var rows: [String: [String: [Row]]] = [:]

    func check(_ snap: Snapshot, table: String, schema: Schema, from: Int64 = .min, to: Int64 = .max) throws {
        let expectedSymbols = (rows[table] ?? [:]).filter { !$0.value.isEmpty }.keys.sorted(by: utf8Less)
        #expect(snap.symbols(of: table) == expectedSymbols)
        for symbol in expectedSymbols {
            let expected = rows[table]![symbol]!.filter { $0.time >= from && $0.time < to }
            var got: [Row] = []
            try snap.scan(table, symbol: symbol, from: from, to: to) { batch in
                for r in batch.rows {
                    let values = try (0..<schema.columns.count).map { c -> Int64 in
                        switch try batch.value(c, r) {
                        case .int64(let v): v
                        case .float64(let d): Int64(bitPattern: d.bitPattern)
                        case .string, .null: { Issue.record("unexpected text or null"); return 0 }()
                        }
                    }
                    got.append(Row(time: try batch.times[r], values: values))
                }
            }
            #expect(got == expected, "table \(table) symbol \(symbol) range \(from)..<\(to)")
        }
    }
}

@Suite struct DatabaseTests {
    static func randomSchema(_ rng: inout SplitMix) -> Schema {
        let n = Int(rng.next() % 4)
        let columns = (0..<n).map { Column("c\($0)", rng.next() % 2 == 0 ? .int64 : .float64) }
        return Schema(columns: columns)
    }

    /// Random schemas and rows over several commits (batch and row API, ties, pre-1970 times,
    /// tiny blocks), checked against the model after each commit and after reopening.
    @Test(arguments: 0..<12)
    func roundTripAgainstModel(seed: UInt64) throws {
        var rng = SplitMix(seed: seed)
        let dir = TempDir()
        defer { dir.cleanup() }
        let blockRows = [1, 3, 64, 1000][Int(seed % 4)]
        var model = Model()
        let schema = Self.randomSchema(&rng)
        var lastTime: [String: Int64] = [:]
        do {
            let db = try Database.open(dir.path, options: DatabaseOptions(blockRows: blockRows))
            try db.write { tx in try tx.createTable("t", schema: schema) }
            for _ in 0..<4 {
                try db.write { tx in
                    for _ in 0..<Int(rng.next() % 6) {
                        let symbol = ["000001", "01", "1", "159363", "x"][Int(rng.next() % 5)]
                        let n = Int(rng.next() % 300) + 1
                        var t = lastTime[symbol] ?? (Int64(rng.next() % 1000) - 500) * 1_000_000_000
                        var times: [Int64] = []
                        for _ in 0..<n {
                            t += Int64(rng.next() % 3) * 60_000  // ties allowed
                            times.append(t)
                        }
                        lastTime[symbol] = t
                        let regime = Int(rng.next() % 4)
                        let cols: [[Int64]] = schema.columns.map { c in
                            (0..<n).map { randomValue(c.type, regime: regime, row: $0, using: &rng) }
                        }
                        for i in 0..<n {
                            model.rows["t", default: [:]][symbol, default: []].append(Model.Row(time: times[i], values: cols.map { $0[i] }))
                        }
                        if rng.next() % 2 == 0 {
                            let batch: [ColumnValues] = zip(schema.columns, cols).map { c, v in
                                c.type == .int64 ? .int64(v) : .float64(v.map { Double(bitPattern: UInt64(bitPattern: $0)) })
                            }
                            try tx.append(to: "t", symbol: symbol, times: times, columns: batch)
                        } else {
                            for i in 0..<n {
                                let row: [Value] = zip(schema.columns, cols).map { c, v in
                                    c.type == .int64 ? .int64(v[i]) : .float64(Double(bitPattern: UInt64(bitPattern: v[i])))
                                }
                                try tx.append(to: "t", symbol: symbol, time: times[i], values: row)
                            }
                        }
                    }
                }
                try model.check(try db.snapshot(), table: "t", schema: schema)
            }
            db.close()
        }
        let db = try Database.open(dir.path, options: .readOnly)
        let snap = try db.snapshot()
        try model.check(snap, table: "t", schema: schema)
        // Ranges that start and end inside blocks and on block edges.
        let allTimes = model.rows["t"]?.values.flatMap { $0.map(\.time) } ?? []
        for _ in 0..<10 where !allTimes.isEmpty {
            let a = allTimes[Int(rng.next() % UInt64(allTimes.count))]
            let b = allTimes[Int(rng.next() % UInt64(allTimes.count))]
            try model.check(snap, table: "t", schema: schema, from: min(a, b), to: max(a, b) + Int64(rng.next() % 2))
        }
    }

    @Test func failedTransactionLeavesNothing() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let db = try Database.open(dir.path, options: DatabaseOptions(blockRows: 2))
        let schema = Schema(columns: [Column("v", .int64)])
        try db.write { tx in
            try tx.createTable("t", schema: schema)
            try tx.append(to: "t", symbol: "a", time: 10, values: [.int64(1)])
        }
        #expect(throws: StrataError.self) {
            try db.write { tx in
                for i in 0..<10 { try tx.append(to: "t", symbol: "b", time: Int64(i), values: [.int64(2)]) }
                try tx.append(to: "t", symbol: "a", time: 5, values: [.float64(3)])  // a float64 in an int64 column
            }
        }
        let snap = try db.snapshot()
        #expect(snap.symbols(of: "t") == ["a"])
        #expect(snap.rowCount("t") == 1)
        db.close()
        let again = try Database.open(dir.path, options: .readOnly)
        #expect(try again.snapshot().rowCount("t") == 1)
    }

    @Test func secondWriterIsRefused() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let first = try Database.open(dir.path)
        do {
            _ = try Database.open(dir.path)
            Issue.record("second writer was allowed")
        } catch {
            #expect(error.kind == .locked)
            #expect(error.message.contains("locked by another writer"))
        }
        let reader = try Database.open(dir.path, options: .readOnly)
        #expect(try reader.snapshot().tables.isEmpty)
        first.close()
        let second = try Database.open(dir.path)
        second.close()
    }

    @Test func readerSnapshotIsStableWhileWriterCommits() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let db = try Database.open(dir.path, options: DatabaseOptions(blockRows: 4))
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("v", .float64)]))
            for i in 0..<10 { try tx.append(to: "t", symbol: "s", time: Int64(i), values: [.float64(Double(i))]) }
        }
        let reader = try Database.open(dir.path, options: .readOnly)
        let before = try reader.snapshot()
        try db.write { tx in
            for i in 10..<20 { try tx.append(to: "t", symbol: "s", time: Int64(i), values: [.float64(Double(i))]) }
        }
        #expect(before.rowCount("t") == 10)
        var n = 0
        try before.scan("t", symbol: "s") { n += $0.count }
        #expect(n == 10)
        #expect(try reader.snapshot().rowCount("t") == 20)
    }
}
