import Foundation
import Synchronization
import Testing
@testable import Strata

/// `Database.commits()`: every commit after the call, in order, none skipped, in-process and from
/// a writer in another process (across its compaction); a consumer that stops reading never holds
/// the writer up; the stream ends when the database is closed.
@Suite(.serialized) struct CommitFeedTests {
    /// A writer without background compaction: these tests count its own commits (the feed across
    /// auto-compaction's commits is in AutoCompactionTests).
    static func create(_ path: String) throws -> Database {
        let db = try Database.open(path, options: DatabaseOptions(autoCompaction: .off))
        try db.write { tx in
            try tx.createTable("a", schema: Schema(columns: [Column("v", .int64)]))
            try tx.createTable("b", schema: Schema(columns: [Column("v", .int64)]))
        }
        return db
    }

    @Test func inProcessCommitsArriveInOrder() async throws {
        let dir = TempDir("strata-feed")
        defer { dir.cleanup() }
        let db = try Self.create(dir.sub("db"))
        let first = try db.snapshot().sequence
        let feed = db.commits()
        for i in 0..<50 {
            try await db.write { tx in
                try tx.append(to: i % 2 == 0 ? "a" : "b", symbol: "s\(i % 3)", time: Int64(i), values: [.int64(Int64(i))])
                if i % 10 == 9 { try tx.append(to: "a", symbol: "x", time: Int64(i), values: [.int64(0)]) }
            }
        }
        try await db.write { _ in }  // an empty write commits nothing
        let report = try await db.compact()
        #expect(report.changed)
        db.close()
        var got: [Commit] = []
        for try await c in feed { got.append(c) }  // ends: the database closed
        #expect(got.map(\.sequence) == Array(first + 1...first + 51))
        for (i, c) in got.prefix(50).enumerated() {
            let expected = i % 10 == 9 ? (i % 2 == 0 ? ["a"] : ["a", "b"]) : [i % 2 == 0 ? "a" : "b"]
            #expect(c.tables == expected, "commit \(i)")
        }
        #expect(got.last?.tables == report.tables)
    }

    /// A subscriber that reads nothing while 300 commits go by: the writer is not slowed down, and
    /// the subscriber then reads all of them, and the background compaction's commits among them
    /// (a contiguous run of sequence numbers up to the last state).
    @Test func aSlowConsumerNeverBlocksTheWriter() async throws {
        let dir = TempDir("strata-feed-slow")
        defer { dir.cleanup() }
        let db = try Database.open(dir.sub("db"))
        try await db.write { tx in try tx.createTable("a", schema: Schema(columns: [Column("v", .int64)])) }
        let first = try db.snapshot().sequence
        let feed = db.commits()
        for i in 0..<300 { try await db.write { tx in try tx.append(to: "a", symbol: "s", time: Int64(i), values: [.int64(1)]) } }
        db.close()  // waits for a background round in progress: no commit comes after
        let last = try Database.open(dir.sub("db"), options: .readOnly).snapshot().sequence
        var got: [UInt64] = []
        for try await c in feed { got.append(c.sequence) }
        #expect(got == Array(first + 1...last))
        #expect(got.count >= 300)
    }

    /// A read-only handle here, the writer a real `strata` process: imports and a compaction, each a
    /// commit, arrive in order.
    @Test func commitsOfAnotherProcessArrive() async throws {
        let dir = TempDir("strata-feed-process")
        defer { dir.cleanup() }
        let path = dir.sub("db")
        Self.create(path: path)
        let reader = try Database.open(path, options: .readOnly)
        let base = try reader.snapshot().sequence
        let feed = reader.commits()
        let received = Mutex<[(Commit, Date)]>([])
        let consumer = Task {
            for try await c in feed {
                received.withLock { $0.append((c, Date())) }
            }
        }
        for i in 0..<6 {
            let csv = dir.sub("f\(i).csv")
            try "symbol,ts,v\ns,\(i),\(i)\n".write(toFile: csv, atomically: true, encoding: .utf8)
            let r = try CLI.run(i == 5 ? ["compact", path] : ["import", path, i % 2 == 0 ? "a" : "b", csv])
            #expect(r.code == 0, "\(r.err)")
        }
        // Generous: the suite's long synchronous tests can hold both cooperative threads for tens of
        // seconds, and this test's own tasks wait for them (the loop ends as soon as all arrived).
        let deadline = Date().addingTimeInterval(120)
        while received.withLock({ $0.count }) < 6 && Date() < deadline { try await Task.sleep(nanoseconds: 5_000_000) }
        reader.close()
        _ = try? await consumer.value
        let got = received.withLock { $0 }
        #expect(got.map(\.0.sequence) == Array(base + 1...base + 6))
        #expect(got.prefix(5).map(\.0.tables) == [["a"], ["b"], ["a"], ["b"], ["a"]])
    }

    /// A read-only handle that last looked before two compactions (the manifest replaced twice, the
    /// commits between folded into checkpoints it never read): each of those commits still arrives,
    /// in order. Deterministic: the handle has no watcher until `commits()`, which looks once.
    @Test func commitsFoldedIntoCheckpointsBeforeAReaderLookedArrive() async throws {
        let dir = TempDir("strata-feed-folded")
        defer { dir.cleanup() }
        let path = dir.sub("db")
        let writer = try Self.create(path)
        let reader = try Database.open(path, options: .readOnly)
        let base = try reader.snapshot().sequence
        for round in 0..<3 {
            for i in 0..<4 {
                try await writer.write { tx in try tx.append(to: i % 2 == 0 ? "a" : "b", symbol: "s", time: Int64(round * 10 + i), values: [.int64(1)]) }
            }
            if round < 2 { #expect(try await writer.compact().changed) }
        }
        let last = try writer.snapshot().sequence
        let feed = reader.commits()  // subscribes at the old view, then reads the twice-replaced manifest
        reader.close()
        writer.close()
        var got: [Commit] = []
        for try await c in feed { got.append(c) }
        #expect(got.map(\.sequence) == Array(base + 1...last))
        #expect(got.suffix(4).map(\.tables) == [["a"], ["b"], ["a"], ["b"]])  // after the last checkpoint: as written
    }

    /// The delay from a commit to its arrival at a read-only handle that learns of it through the
    /// file system (as in another process): reported (BENCHMARKS.md), not asserted.
    @Test func readOnlyHandlesHearOfCommitsQuickly() async throws {
        let dir = TempDir("strata-feed-latency")
        defer { dir.cleanup() }
        let path = dir.sub("db")
        let writer = try Self.create(path)
        let reader = try Database.open(path, options: .readOnly)
        let feed = reader.commits()
        let received = Mutex<[UInt64: Date]>([:])
        let consumer = Task { for try await c in feed { received.withLock { $0[c.sequence] = Date() } } }
        var committed: [UInt64: Date] = [:]
        for i in 0..<40 {
            try await Task.sleep(nanoseconds: 10_000_000)
            let start = Date()  // an upper bound: the delay measured includes the commit's own fsync
            try await writer.write { tx in try tx.append(to: "a", symbol: "s", time: Int64(i), values: [.int64(1)]) }
            committed[try writer.snapshot().sequence] = start
        }
        // Generous: the suite's long synchronous tests can hold both cooperative threads for tens of
        // seconds, and this test's own tasks wait for them (the loop ends as soon as all arrived).
        let deadline = Date().addingTimeInterval(120)
        while received.withLock({ $0.count }) < 40 && Date() < deadline { try await Task.sleep(nanoseconds: 5_000_000) }
        reader.close()
        writer.close()
        _ = try? await consumer.value
        let arrivals = received.withLock { $0 }
        let delays = committed.compactMap { seq, at in arrivals[seq].map { $0.timeIntervalSince(at) * 1000 } }.sorted()
        #expect(delays.count == 40)
        let p50 = delays[delays.count / 2], p99 = delays[delays.count * 99 / 100]
        print("write call to arrival at a read-only handle (inotify), fsync included: p50 \(String(format: "%.2f", p50)) ms, p99 \(String(format: "%.2f", p99)) ms, max \(String(format: "%.2f", delays.last!)) ms")
    }

    static func create(path: String) {
        let db = try! Self.create(path)
        db.close()
    }
}

/// `strata watch` (a read-only handle in a child process) prints every commit this process makes,
/// in order, none skipped, across a compaction.
@Suite struct WatchCommandTests {
    @Test func aChildProcessSeesEveryCommit() async throws {
        let dir = TempDir("strata-watch")
        defer { dir.cleanup() }
        let path = dir.sub("db")
        let db = try CommitFeedTests.create(path)
        let base = try db.snapshot().sequence
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.currentDirectoryURL = CLI.workingDirectory
        // The timeout only bounds a failure: the suite's long synchronous tests can hold both
        // cooperative threads, so this test's own writes may come tens of seconds late.
        p.arguments = ["watch", path, "--count", "12", "--timeout", "300"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Wait until the child has subscribed (it says so on stderr).
        var said = ""
        while !said.contains("watching") {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            said += String(decoding: chunk, as: UTF8.self)
        }
        #expect(said.contains("after commit \(base)"), "\(said)")
        for i in 0..<11 {
            try await db.write { tx in try tx.append(to: i % 3 == 0 ? "b" : "a", symbol: "s", time: Int64(i), values: [.int64(1)]) }
        }
        _ = try await db.compact()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        db.close()
        let lines = text.split(separator: "\n").map(String.init)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(lines.count == 12, "\(text)\n\(errors)")
        let expected = (0..<11).map { i in "{\"sequence\":\(base + 1 + UInt64(i)),\"tables\":[\"\(i % 3 == 0 ? "b" : "a")\"]}" }
        #expect(Array(lines.prefix(11)) == expected)
        #expect(lines.last?.hasPrefix("{\"sequence\":\(base + 12),") == true, "\(lines.last ?? "")")
    }
}
