import Foundation
import Synchronization
import Testing
@testable import Strata

/// The async forms of read, write and compact: they work off the caller's executor, and a
/// cancellation before the commit starts keeps nothing.
@Suite struct AsyncTests {
    static func open(_ dir: TempDir) throws -> Database {
        let db = try Database.open(dir.sub("db"))
        try db.write { tx in try tx.createTable("t", schema: Schema(columns: [Column("v", .int64)])) }
        return db
    }

    @Test func writeThenReadAsync() async throws {
        let dir = TempDir("strata-async")
        defer { dir.cleanup() }
        let db = try Self.open(dir)
        let n = try await db.write { tx in
            try tx.append(to: "t", symbol: "a", times: [1, 2, 3], columns: [.int64([10, 20, 30])])
            return 3
        }
        #expect(n == 3)
        let sum = try await db.read { snap in try snap.query("SELECT sum(v) FROM t").rows }
        #expect(sum == [[.int(60)]])
        let report = try await db.compact()
        #expect(report.blocksAfter <= report.blocksBefore)
        db.close()
    }

    @Test func cancelledBeforeTheCallWritesNothing() async throws {
        let dir = TempDir("strata-async-cancel")
        defer { dir.cleanup() }
        let db = try Self.open(dir)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await db.write { tx in try tx.append(to: "t", symbol: "a", time: 1, values: [.int64(1)]) }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(try db.snapshot().rowCount("t") == 0)
        db.close()
    }

    @Test func cancelledWhileTheBodyRunsCommitsNothing() async throws {
        let dir = TempDir("strata-async-cancel-body")
        defer { dir.cleanup() }
        let db = try Self.open(dir)
        let started = Mutex(false)
        let task = Task {
            try await db.write { tx in
                try tx.append(to: "t", symbol: "a", time: 1, values: [.int64(1)])
                started.withLock { $0 = true }
                Thread.sleep(forTimeInterval: 0.3)
            }
        }
        while !started.withLock({ $0 }) { try await Task.sleep(nanoseconds: 1_000_000) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(try db.snapshot().rowCount("t") == 0)
        // The writer is free again: the next write goes through.
        try await db.write { tx in try tx.append(to: "t", symbol: "a", time: 2, values: [.int64(2)]) }
        #expect(try db.snapshot().rowCount("t") == 1)
        db.close()
    }

    actor Counter {
        var n = 0
        func bump() { n += 1 }
        func slowWrite(_ db: Database) async throws {
            try await db.write { _ in Thread.sleep(forTimeInterval: 0.3) }
        }
    }

    /// An actor awaiting a slow write is not held by it: other calls to the actor run meanwhile.
    @Test func aSlowWriteDoesNotHoldTheCallersActor() async throws {
        let dir = TempDir("strata-async-actor")
        defer { dir.cleanup() }
        let db = try Self.open(dir)
        let counter = Counter()
        async let write: Void = counter.slowWrite(db)
        try await Task.sleep(nanoseconds: 50_000_000)
        let start = Date()
        await counter.bump()
        #expect(Date().timeIntervalSince(start) < 0.2, "the actor was blocked by the write")
        try await write
        #expect(await counter.n == 1)
        db.close()
    }
}
