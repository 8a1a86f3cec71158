import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// Auto-compaction: the merge policy against a model, and a database fed one-row commits, with the
/// rounds run on the test's thread (deterministic) and on the background thread (as users run it).
@Suite struct AutoCompactionTests {
    /// The policy on random streams of commit sizes: rows are kept in order, a symbol's small blocks
    /// stay few (under `fanIn` per size class), and a row is rewritten about once per size class.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func mergePolicyKeepsFewSmallBlocksAndRewritesLittle(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        let fanIn = Int(2 + rng.next() % 15), blockRows = Int(64 + rng.next() % 4_000)
        var blocks = BlockList()
        var appended = 0, rewritten = 0
        for _ in 0..<3_000 {
            let rows = rng.next() % 8 == 0 ? Int(1 + rng.next() % 300) : 1
            let ref = BlockRef(file: 1, offset: 0, length: 1, rows: UInt32(rows), firstTime: Int64(appended), lastTime: Int64(appended + rows - 1))
            blocks.append(ref)
            appended += rows
            while let run = MergePolicy.run(blocks, blockRows: blockRows, fanIn: fanIn) {
                let merged = run.reduce(0) { $0 + Int(blocks[$1].rows) }
                rewritten += merged
                var out: [BlockRef] = []
                var first: Int64 = blocks[run.lowerBound].firstTime
                for start in stride(from: 0, to: merged, by: blockRows) {
                    let n = Int64(min(blockRows, merged - start))
                    out.append(BlockRef(file: 1, offset: 0, length: 1, rows: UInt32(n), firstTime: first, lastTime: first + n - 1))
                    first += n
                }
                blocks.replaceSubrange(run, with: out)
            }
        }
        let all = Array(blocks)
        #expect(all.reduce(0) { $0 + Int($1.rows) } == appended)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.lastTime + 1 == $1.firstTime })
        let classes = MergePolicy.level(UInt32(blockRows), fanIn: fanIn) + 1
        let tail = all.reversed().prefix { Int($0.rows) < blockRows }
        #expect(tail.count <= (fanIn - 1) * classes, "fanIn \(fanIn), blockRows \(blockRows): \(tail.count) small blocks at the end")
        #expect(tail.reduce(0) { $0 + Int($1.rows) } < blockRows, "fewer rows at the end than a full block")
        // Before the end, small blocks stand alone between full ones.
        let inner = all.dropLast(tail.count)
        #expect(zip(inner, inner.dropFirst()).allSatisfy { Int($0.rows) >= blockRows || Int($1.rows) >= blockRows })
        #expect(rewritten <= appended * (classes + 2), "fanIn \(fanIn), blockRows \(blockRows): \(rewritten) rows rewritten for \(appended)")
    }

    /// A long history of one-row blocks (written without auto-compaction, reopened with it): a round
    /// looks only at the last `fanIn` × 16 blocks, so the work stays bounded and soon ends; the
    /// history before is `compact`'s.
    @Test func aLongHistoryIsMergedFromItsEndInBoundedSteps() {
        var blocks = BlockList((0..<10_000).map { BlockRef(file: 1, offset: 0, length: 1, rows: 1, firstTime: Int64($0), lastTime: Int64($0)) })
        var rounds = 0
        while let run = MergePolicy.run(blocks, blockRows: 64, fanIn: 4), rounds < 1_000 {
            #expect(run.lowerBound >= blocks.count - 4 * 16)
            let rows = run.reduce(0) { $0 + Int(blocks[$1].rows) }, first = blocks[run.lowerBound].firstTime
            let out = stride(from: 0, to: rows, by: 64).map { k in
                BlockRef(file: 1, offset: 0, length: 1, rows: UInt32(min(64, rows - k)), firstTime: first + Int64(k), lastTime: first + Int64(min(64, rows - k) + k - 1))
            }
            blocks.replaceSubrange(run, with: out)
            rounds += 1
        }
        #expect(rounds >= 1 && rounds < 10)
        #expect(Array(blocks).reduce(0) { $0 + Int($1.rows) } == 10_000)
        #expect(blocks.last?.rows == 64)
    }

    static let schema = Schema(columns: [Column("price", .float64), Column("volume", .int64), Column("side", .string)])

    /// One row for each symbol at minute `r` (side null every seventh row).
    static func commit(_ db: Database, _ r: Int, symbols: Int) throws {
        try db.write { tx in try commit(tx, r, symbols: symbols) }
    }

    static func rows(_ snap: Snapshot) throws -> [String] {
        try snap.query("SELECT symbol, ts, price, volume, side FROM bars").rows.map { "\($0)" }.sorted()
    }

    static func blocks(_ snap: Snapshot) -> Int {
        snap.catalog.tables.values.reduce(0) { $0 + $1.symbols.reduce(0) { $0 + $1.blocks.count } }
    }

    /// A trickle of one-row commits with rounds after each: every row stays, small blocks stay few,
    /// emptied files are dropped, the manifest is folded (its sequence kept), and what is on disk
    /// stays within a few percent of a bulk import's bytes.
    @Test func aTrickleStaysCompactWithoutCompact() throws {
        let dir = TempDir("strata-auto")
        defer { dir.cleanup() }
        var auto = AutoCompaction(fanIn: 4)
        auto.inBackground = false
        auto.fileBytes = 8_192
        auto.logBytes = 16_384
        let db = try Database.open(dir.sub("trickle"), options: DatabaseOptions(blockRows: 64, autoCompaction: auto))
        try db.write { tx in try tx.createTable("bars", schema: Self.schema) }
        var rounds = 0, folds = 0
        for r in 0..<1_500 {
            try Self.commit(db, r, symbols: 5)
            let before = try db.snapshot().sequence, manifest = try FileManager.default.attributesOfItem(atPath: dir.sub("trickle/MANIFEST"))[.size] as! Int
            rounds += try db.runAutoCompaction()
            let after = try FileManager.default.attributesOfItem(atPath: dir.sub("trickle/MANIFEST"))[.size] as! Int
            if after < manifest { folds += 1 }
            #expect(try db.snapshot().sequence >= before)
        }
        let snap = try db.snapshot()
        #expect(rounds > 100 && folds > 0, "\(rounds) rounds, \(folds) folds")
        #expect(Self.blocks(snap) <= 5 * (1_500 / 64 + 3 * 3 + 1), "\(Self.blocks(snap)) blocks")
        db.close()
        #expect(Database.verify(dir.sub("trickle")).isIntact)

        let bulk = try Database.open(dir.sub("bulk"), options: DatabaseOptions(blockRows: 64, autoCompaction: .off))
        try bulk.write { tx in try tx.createTable("bars", schema: Self.schema) }
        try bulk.write { tx in for r in 0..<1_500 { try Self.commit(tx, r, symbols: 5) } }
        let reopened = try Database.open(dir.sub("trickle"), options: .readOnly)
        #expect(try Self.rows(reopened.snapshot()) == Self.rows(bulk.snapshot()))
        let trickleBytes = try CompactionTargetTests.bytes(dir.sub("trickle")), bulkBytes = try CompactionTargetTests.bytes(dir.sub("bulk"))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.sub("trickle")).sorted().map { name in
            "\(name): \(try FileManager.default.attributesOfItem(atPath: dir.sub("trickle/" + name))[.size] as! Int)"
        }
        print("auto-compaction, 1,500 one-row commits to 5 symbols: \(trickleBytes) bytes, a bulk import \(bulkBytes)")
        #expect(Double(trickleBytes) <= Double(bulkBytes) * 1.6, "\(trickleBytes) bytes against \(bulkBytes) in bulk: \(files)")
    }

    /// As users run it: the background thread, a reader in this process following the feed across
    /// merges and folds (every sequence number once, in order), late rows and deletes meanwhile.
    @Test func theBackgroundThreadKeepsUpAndTheFeedSkipsNothing() async throws {
        let dir = TempDir("strata-auto-bg")
        defer { dir.cleanup() }
        var auto = AutoCompaction(fanIn: 4)
        auto.fileBytes = 4_096
        auto.logBytes = 8_192
        let path = dir.sub("db")
        let db = try Database.open(path, options: DatabaseOptions(blockRows: 32, autoCompaction: auto))
        try await db.write { tx in try tx.createTable("bars", schema: Self.schema) }
        let reader = try Database.open(path, options: .readOnly)
        let first = try reader.snapshot().sequence
        let feed = reader.commits()
        for r in 0..<2_000 {
            try Self.commit(db, r, symbols: 4)
            if r % 500 == 499 { try await db.write { tx in _ = try tx.delete(from: "bars", symbols: ["S1"], from: Int64(r - 10) * 60_000, to: Int64(r - 5) * 60_000) } }
        }
        db.close()
        let last = try Database.open(path, options: .readOnly).snapshot().sequence
        var got: [UInt64] = []
        for try await c in feed {
            got.append(c.sequence)
            if c.sequence >= last { break }
        }
        reader.close()
        #expect(got == Array(first + 1...last))
        #expect(Database.verify(path).isIntact)
        let snap = try Database.open(path, options: .readOnly).snapshot()
        #expect(snap.rowCount("bars") == 2_000 * 4 - 4 * 5)
        #expect(Self.blocks(snap) < 2_000 * 4 / 10, "\(Self.blocks(snap)) blocks")
    }

    /// A handle dropped without `close` still goes away (the thread does not keep it), releasing the lock.
    @Test func anUnclosedHandleGoesAway() throws {
        let dir = TempDir("strata-auto-drop")
        defer { dir.cleanup() }
        do {
            let db = try Database.open(dir.path)
            try db.write { tx in try tx.createTable("bars", schema: Self.schema) }
            for r in 0..<40 { try Self.commit(db, r, symbols: 2) }
        }
        let again = try Database.open(dir.path)  // the lock is free again
        #expect(try again.snapshot().rowCount("bars") == 80)
        again.close()
    }
}

extension AutoCompactionTests {
    static func commit(_ tx: Transaction, _ r: Int, symbols: Int) throws {
        for s in 0..<symbols {
            try tx.append(
                to: "bars", symbol: "S\(s)", time: Int64(r) * 60_000,
                values: [.float64(Double(1000 + (r * 7 + s) % 50) / 100), .int64(Int64(r % 13) * 100), r % 7 == 0 ? .null : .string(r % 2 == 0 ? "B" : "S")])
        }
    }
}
