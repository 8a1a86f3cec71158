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
        // The body waits for the test to have cancelled the task: no timing involved.
        let started = DispatchSemaphore(value: 0), cancelled = DispatchSemaphore(value: 0)
        let task = Task {
            try await db.write { tx in
                try tx.append(to: "t", symbol: "a", time: 1, values: [.int64(1)])
                started.signal()
                cancelled.wait()
            }
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                started.wait()
                c.resume()
            }
        }
        task.cancel()
        cancelled.signal()
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
        /// A write whose body waits (up to 120 s) for `go`: true when it was let go. Generous: under the
        /// Thread Sanitizer the suite's long synchronous tests can hold both cooperative threads for
        /// minutes, and the actor call that lets it go waits for one (it failed at 10 s there).
        func slowWrite(_ db: Database, inBody: DispatchSemaphore, until go: DispatchSemaphore) async throws -> Bool {
            try await db.write { _ in
                inBody.signal()
                return go.wait(timeout: .now() + 120) == .success
            }
        }
    }

    /// An actor awaiting a write is not held by it: another call to the actor runs while the write's
    /// body is still waiting (were the actor held, the body would wait out its 120 s and say so).
    @Test func aSlowWriteDoesNotHoldTheCallersActor() async throws {
        let dir = TempDir("strata-async-actor")
        defer { dir.cleanup() }
        let db = try Self.open(dir)
        let counter = Counter()
        let go = DispatchSemaphore(value: 0), inBody = DispatchSemaphore(value: 0)
        async let released = counter.slowWrite(db, inBody: inBody, until: go)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                inBody.wait()
                c.resume()
            }
        }
        await counter.bump()  // the write's body is running now
        go.signal()
        #expect(try await released)
        #expect(await counter.n == 1)
        db.close()
    }
}
