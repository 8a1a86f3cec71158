import Foundation
import Testing
@testable import Strata
@testable import StrataTools

@Suite struct CompactionTests {
    /// Appends random small commits (and some large ones) to two tables, compacting at random points,
    /// sometimes one table only. After every step the database matches the reference model, verifies
    /// clean, and a snapshot taken before the compaction still reads what it read before. A full
    /// compaction leaves no two neighbouring small blocks, and a second one finds nothing to do.
    @Test(arguments: 0..<8)
    func compactionKeepsEveryRow(seed: UInt64) throws {
        var rng = SplitMix(seed: seed &+ 77)
        let dir = TempDir("strata-compact")
        defer { dir.cleanup() }
        let blockRows = [4, 16, 64, 7][Int(seed % 4)]
        var model = Model()
        let schemas = ["t": DatabaseTests.randomSchema(&rng), "u": Schema(columns: [Column("p", .float64), Column("v", .int64)])]
        var lastTime: [String: Int64] = [:]
        let db = try Database.open(dir.path, options: DatabaseOptions(blockRows: blockRows, autoCompaction: .off))
        try db.write { tx in for (name, schema) in schemas { try tx.createTable(name, schema: schema) } }
        for round in 0..<30 {
            try db.write { tx in
                for _ in 0..<Int(rng.next() % 4) + 1 {
                    let table = rng.next() % 3 == 0 ? "u" : "t"
                    let schema = schemas[table]!
                    let symbol = ["a", "b", "000001", "1"][Int(rng.next() % 4)]
                    let n = rng.next() % 8 == 0 ? Int(rng.next() % UInt64(3 * blockRows)) + 1 : Int(rng.next() % 3) + 1
                    var t = lastTime[table + symbol] ?? Int64(rng.next() % 1000) * 1000
                    var times: [Int64] = []
                    for _ in 0..<n {
                        t += Int64(rng.next() % 3) * 1000
                        times.append(t)
                    }
                    lastTime[table + symbol] = t
                    let regime = Int(rng.next() % 5)
                    let cols: [[Int64]] = schema.columns.map { c in (0..<n).map { randomValue(c.type, regime: regime, row: $0, using: &rng) } }
                    for i in 0..<n {
                        model.rows[table, default: [:]][symbol, default: []].append(Model.Row(time: times[i], values: cols.map { $0[i] }))
                    }
                    let batch: [ColumnValues] = zip(schema.columns, cols).map { c, v in
                        c.type == .int64 ? .int64(v) : .float64(v.map { Double(bitPattern: UInt64(bitPattern: $0)) })
                    }
                    try tx.append(to: table, symbol: symbol, times: times, columns: batch)
                }
            }
            if round % 7 == 6 || round == 29 {
                let before = try db.snapshot()
                let oldRows = before.rowCount("t") + before.rowCount("u")
                let only: String? = round == 29 ? nil : (rng.next() % 2 == 0 ? "t" : nil)
                let report = try db.compact(table: only)
                #expect(report.blocksAfter <= report.blocksBefore)
                let after = try db.snapshot()
                #expect(after.rowCount("t") + after.rowCount("u") == oldRows)
                for (name, schema) in schemas {
                    try model.check(after, table: name, schema: schema)
                    try model.check(before, table: name, schema: schema)  // the old snapshot reads on
                }
                let v = Database.verify(dir.path)
                #expect(v.isIntact, "\(v.problems)")
            }
        }
        // After a full compaction no two neighbouring blocks are both small, and nothing is left to do.
        let snap = try db.snapshot()
        for name in schemas.keys {
            for s in snap.state(name)!.symbols {
                for i in s.blocks.indices.dropFirst() {
                    #expect(s.blocks[i - 1].rows == UInt32(blockRows) || s.blocks[i].rows == UInt32(blockRows), "\(name) \(s.name)")
                }
            }
        }
        #expect(try db.compact().changed == false)
        db.close()
        let reopened = try Database.open(dir.path, options: .readOnly)
        for (name, schema) in schemas { try model.check(try reopened.snapshot(), table: name, schema: schema) }
        // Nothing but the live files is left on disk.
        let live = Set(try reopened.snapshot().catalog.files.keys.map(Catalog.dataFileName))
        let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sdf") })
        #expect(onDisk == live)
    }

    static func singleRowCommits(_ db: Database, symbols: Int, rows: Int) throws {
        try db.write { tx in try tx.createTable("bars", schema: Schema(columns: [Column("price", .float64), Column("volume", .int64)])) }
        for r in 0..<rows {
            try db.write { tx in
                for s in 0..<symbols {
                    try tx.append(to: "bars", symbol: "S\(s)", time: Int64(r) * 60_000, values: [.float64(Double(1000 + (r * 7 + s) % 50) / 100), .int64(Int64(r % 13) * 100)])
                }
            }
        }
    }

    /// Single-row commits compact into exactly the blocks a bulk import of the same rows writes: the
    /// same bytes per row, and a manifest back to a checkpoint's size.
    @Test func compactionMatchesBulkImport() throws {
        let dir = TempDir("strata-compact")
        defer { dir.cleanup() }
        let options = DatabaseOptions(blockRows: 32, autoCompaction: .off)
        let trickle = try Database.open(dir.sub("trickle"), options: options)
        try Self.singleRowCommits(trickle, symbols: 5, rows: 200)
        let report = try trickle.compact()
        #expect(report.changed)
        #expect(report.blocksBefore == 1000)
        #expect(report.blocksAfter == 5 * 7)  // 200 rows = 6 × 32 + 8
        #expect(report.rowsRewritten == 1000)
        #expect(report.manifestBytesAfter * 10 < report.manifestBytesBefore)
        let bulk = try Database.open(dir.sub("bulk"), options: options)
        try bulk.write { tx in
            try tx.createTable("bars", schema: Schema(columns: [Column("price", .float64), Column("volume", .int64)]))
            for s in 0..<5 {
                let times = (0..<200).map { Int64($0) * 60_000 }
                try tx.append(to: "bars", symbol: "S\(s)", times: times, columns: [
                    .float64((0..<200).map { Double(1000 + ($0 * 7 + s) % 50) / 100 }), .int64((0..<200).map { Int64($0 % 13) * 100 }),
                ])
            }
        }
        let a = try trickle.snapshot().info("bars"), b = try bulk.snapshot().info("bars")
        #expect(a.bytes == b.bytes)
        #expect(a.blocks == b.blocks)
        #expect(Database.verify(dir.sub("trickle")).isIntact)
    }

    /// Compaction never removes a file a snapshot of this process can still read; the file goes when
    /// the last such snapshot does. A read-only handle sees the compacted state at its next snapshot.
    @Test func oldFilesStayWhileSnapshotsNeedThem() throws {
        let dir = TempDir("strata-compact")
        defer { dir.cleanup() }
        let db = try Database.open(dir.path, options: DatabaseOptions(blockRows: 8, autoCompaction: .off))
        try Self.singleRowCommits(db, symbols: 3, rows: 20)
        let reader = try Database.open(dir.path, options: .readOnly)
        let readerBefore = try reader.snapshot()
        var old: Snapshot? = try db.snapshot()
        let oldFiles = Set(old!.catalog.files.keys.map(Catalog.dataFileName))
        let report = try db.compact()
        #expect(report.filesRemoved == oldFiles.count)
        func onDisk() throws -> Set<String> { Set(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sdf") }) }
        #expect(oldFiles.isSubset(of: try onDisk()))
        var n = 0
        try old!.scan("bars", symbol: "S1") { n += $0.count }
        #expect(n == 20)
        old = nil
        #expect(try onDisk().isDisjoint(with: oldFiles))
        // Another handle's old snapshot still reads (the unlinked file stays mapped); its next one is the new state.
        n = 0
        try readerBefore.scan("bars", symbol: "S2") { n += $0.count }
        #expect(n == 20)
        let fresh = try reader.snapshot()
        #expect(fresh.sequence == (try db.snapshot()).sequence)
        #expect(fresh.rowCount("bars") == 60)
        #expect(try fresh.info("bars").blocks == 3 * 3)
        // Appends go on after the compaction, and another reader follows them.
        try db.write { tx in try tx.append(to: "bars", symbol: "S0", time: 10_000_000, values: [.float64(1), .int64(1)]) }
        #expect(try reader.snapshot().rowCount("bars") == 61)
    }
}
