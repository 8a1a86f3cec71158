import Testing
@testable import Strata
@testable import StrataTools

/// Misuse of the Swift API by the calling program: each is refused with a `.misuse` error naming
/// what was misused, writes nothing, and leaves the database intact and readable.
@Suite struct MisuseTests {
    static let schema = Schema(columns: [Column("close", .float64), Column("volume", .int64)])

    /// Rows of `symbol` at minutes [from, from + count).
    static func batch(from: Int64, count: Int) -> (times: [Int64], columns: [ColumnValues]) {
        let times = (0..<Int64(count)).map { (from + $0) * 60_000 }
        return (times, [.float64(times.map { Double($0) / 1e6 }), .int64(times.map { $0 / 1000 })])
    }

    static func expectMisuse(_ what: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(what) was accepted")
        } catch let error as StrataError {
            #expect(error.kind == .misuse, "\(what): \(error)")
            #expect(!error.message.isEmpty)
        } catch {
            Issue.record("\(what) threw \(error), not a StrataError")
        }
    }

    /// Rows per symbol, read back through the public scan.
    static func rows(_ db: Database) throws -> [String: Int] {
        let snap = try db.snapshot()
        var out: [String: Int] = [:]
        for symbol in snap.symbols(of: "bars") {
            try snap.scan("bars", symbol: symbol) { batch in out[symbol, default: 0] += batch.count }
        }
        return out
    }

    @Test func transactionKeptAfterWriteIsRefused() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let db = try Database.open(dir.sub("db"), options: DatabaseOptions(blockRows: 64))
        var kept: Transaction? = nil
        try db.write { tx in
            try tx.createTable("bars", schema: Self.schema)
            let b = Self.batch(from: 0, count: 100)
            try tx.append(to: "bars", symbol: "A", times: b.times, columns: b.columns)
            kept = tx
        }
        // A later commit moves the data file on; the kept transaction's offsets are stale.
        try db.write { tx in
            let b = Self.batch(from: 100, count: 100)
            try tx.append(to: "bars", symbol: "B", times: b.times, columns: b.columns)
        }
        let tx = try #require(kept)
        let many = Self.batch(from: 1_000, count: 500)  // several blocks
        Self.expectMisuse("append of a batch") { try tx.append(to: "bars", symbol: "A", times: many.times, columns: many.columns) }
        Self.expectMisuse("append of a row") { try tx.append(to: "bars", symbol: "C", time: 5, values: [.float64(1), .int64(2)]) }
        Self.expectMisuse("createTable") { try tx.createTable("other", schema: Self.schema) }
        Self.expectMisuse("schema(of:)") { _ = try tx.schema(of: "bars") }
        // A transaction whose closure threw is finished too.
        var thrown: Transaction? = nil
        struct Stop: Error {}
        _ = try? db.write { tx in
            thrown = tx
            throw Stop()
        }
        Self.expectMisuse("append after a thrown write") { try #require(thrown).append(to: "bars", symbol: "A", time: 9_000_000, values: [.float64(1), .int64(2)]) }
        #expect(try Self.rows(db) == ["A": 100, "B": 100])
        db.close()
        let report = Database.verify(dir.sub("db"))
        #expect(report.isIntact, "\(report.problems)")
        let again = try Database.open(dir.sub("db"))
        #expect(try Self.rows(again) == ["A": 100, "B": 100])
        again.close()
    }

    @Test func nestedWriteAndCompactAreRefused() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let db = try Database.open(dir.sub("db"), options: DatabaseOptions(blockRows: 16))
        try db.write { tx in
            try tx.createTable("bars", schema: Self.schema)
            Self.expectMisuse("write inside write") { try db.write { _ in } }
            Self.expectMisuse("compact inside write") { _ = try db.compact() }
            // The outer transaction goes on and commits.
            let b = Self.batch(from: 0, count: 10)
            try tx.append(to: "bars", symbol: "A", times: b.times, columns: b.columns)
        }
        for k in 0..<4 {  // small commits, so compaction has work and calls its progress callback
            try db.write { tx in
                let b = Self.batch(from: Int64(10 + k * 5), count: 5)
                try tx.append(to: "bars", symbol: "A", times: b.times, columns: b.columns)
            }
        }
        var calls = 0
        _ = try db.compact { _, _ in
            calls += 1
            Self.expectMisuse("write inside compact's progress") { try db.write { _ in } }
        }
        #expect(calls > 0)
        #expect(try Self.rows(db) == ["A": 30])
        // Other threads simply wait for the writer: a write from another thread while one runs works.
        try db.write { tx in
            let b = Self.batch(from: 100, count: 3)
            try tx.append(to: "bars", symbol: "B", times: b.times, columns: b.columns)
        }
        db.close()
        #expect(Database.verify(dir.sub("db")).isIntact)
    }

    @Test func useAfterCloseIsRefused() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let db = try Database.open(dir.sub("db"))
        try db.write { tx in
            try tx.createTable("bars", schema: Self.schema)
            try tx.append(to: "bars", symbol: "A", time: 1, values: [.float64(1.5), .int64(7)])
        }
        let before = try db.snapshot()
        db.close()
        db.close()  // a second close does nothing
        Self.expectMisuse("snapshot after close") { _ = try db.snapshot() }
        Self.expectMisuse("read after close") { _ = try db.read { $0.sequence } }
        Self.expectMisuse("write after close") { try db.write { _ in } }
        Self.expectMisuse("compact after close") { _ = try db.compact() }
        // A snapshot taken before close stays readable.
        var seen = 0
        try before.scan("bars", symbol: "A") { seen += $0.count }
        #expect(seen == 1)
        // The writer lock is released: the database opens again.
        let again = try Database.open(dir.sub("db"))
        #expect(try Self.rows(again) == ["A": 1])
        again.close()

        // close() inside write takes effect when the write ends; the write still commits.
        let db2 = try Database.open(dir.sub("db"))
        try db2.write { tx in
            db2.close()
            try tx.append(to: "bars", symbol: "B", time: 2, values: [.float64(2.5), .int64(8)])
        }
        Self.expectMisuse("snapshot after close inside write") { _ = try db2.snapshot() }
        let db3 = try Database.open(dir.sub("db"))  // the lock was released
        #expect(try Self.rows(db3) == ["A": 1, "B": 1])
        db3.close()
        #expect(Database.verify(dir.sub("db")).isIntact)
    }

    @Test func scanBatchMisuseIsRefused() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let db = try Database.open(dir.sub("db"), options: DatabaseOptions(blockRows: 8))
        try db.write { tx in
            try tx.createTable("bars", schema: Self.schema)
            let b = Self.batch(from: 0, count: 20)
            try tx.append(to: "bars", symbol: "A", times: b.times, columns: b.columns)
        }
        let snap = try db.snapshot()
        var kept: [ScanBatch] = []
        try snap.scan("bars", symbol: "A") { batch in
            Self.expectMisuse("int64 of a float64 column") { _ = try batch.int64(0) }
            Self.expectMisuse("float64 of an int64 column") { _ = try batch.float64(1) }
            Self.expectMisuse("a column out of range") { _ = try batch.float64(2) }
            Self.expectMisuse("a negative column") { _ = try batch.type(-1) }
            Self.expectMisuse("a row outside the batch") { _ = try batch.value(0, batch.rows.upperBound) }
            let closes = try batch.float64(0), volumes = try batch.int64(1)
            #expect(closes.count == batch.count && volumes.count == batch.count)
            kept.append(batch)
        }
        #expect(kept.count == 3)
        for batch in kept {
            Self.expectMisuse("a batch read after its closure") { _ = try batch.times }
            Self.expectMisuse("a batch's column read after its closure") { _ = try batch.float64(0) }
        }
        db.close()
        #expect(Database.verify(dir.sub("db")).isIntact)
    }
}
