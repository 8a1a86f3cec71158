import Foundation
import Synchronization
import Testing
@testable import Strata
@testable import StrataTools

/// One writer appends and compacts while reader threads (on the writer's handle and on a read-only
/// handle) and reader processes (`strata dump`, `strata verify`) read. Every commit adds one row to
/// each symbol, so any committed state has the same rows in every symbol, with times 0..<n and values
/// that derive from the time; a read that sees anything else saw a state that was never committed.
@Suite(.serialized) struct ConcurrencyTests {
    static let symbols = ["a", "b", "c", "d"]

    /// Checks one snapshot; returns its rows per symbol.
    static func check(_ snap: Snapshot) throws -> Int {
        guard snap.tables.contains("t") else { return 0 }
        var counts: [Int] = []
        for s in symbols {
            var n = 0
            try snap.scan("t", symbol: s) { b in
                for r in b.rows {
                    let t = try b.times[r]
                    #expect(t == Int64(n), "symbol \(s): row \(n) has time \(t)")
                    #expect(try b.value(0, r) == .float64(Double(t) / 4), "symbol \(s) row \(n)")
                    n += 1
                }
            }
            #expect(n == snap.rowCount("t", symbol: s))
            counts.append(n)
        }
        #expect(Set(counts).count <= 1, "symbols differ in rows: \(counts)")
        return counts.first ?? 0
    }

    @Test func readersSeeCommittedSnapshotsWhileWriterAppendsAndCompacts() throws {
        let dir = TempDir("strata-conc")
        defer { dir.cleanup() }
        let db = try Database.open(dir.path, options: DatabaseOptions(blockRows: 16))
        try db.write { tx in try tx.createTable("t", schema: Schema(columns: [Column("v", .float64)])) }
        let reader = try Database.open(dir.path, options: .readOnly)
        let done = Atomic<Bool>(false)
        let reads = Atomic<Int>(0)
        let commits = 2000
        let finished = DispatchSemaphore(value: 0)

        let readers = (0..<3).map { k in
            Thread {
                Self.readSnapshots(k == 0 ? reader : db, name: "reader \(k)", until: done, reads: reads)
                finished.signal()
            }
        }
        readers.forEach { $0.start() }
        let processRuns = Atomic<Int>(0)
        let processes = Thread {
            Self.readInProcesses(dir.path, until: done, runs: processRuns)
            finished.signal()
        }
        processes.start()

        var compactions = 0
        for c in 0..<commits {
            try db.write { tx in
                for s in Self.symbols { try tx.append(to: "t", symbol: s, time: Int64(c), values: [.float64(Double(c) / 4)]) }
            }
            if c % 50 == 49 {
                _ = try db.compact()
                compactions += 1
            }
        }
        // Let the readers see the final state too.
        while processRuns.load(ordering: .relaxed) < 3 { usleep(10_000) }
        done.store(true, ordering: .releasing)
        for _ in 0..<4 { finished.wait() }
        #expect(try Self.check(try db.snapshot()) == commits)
        #expect(try Self.check(try reader.snapshot()) == commits)
        #expect(Database.verify(dir.path).isIntact)
        print("concurrency: \(commits) commits, \(compactions) compactions, \(reads.load(ordering: .relaxed)) snapshot reads by 3 threads, \(processRuns.load(ordering: .relaxed)) reads by other processes")
    }

    /// A reader thread: snapshots of `db` in a loop until `done`, each checked, never going back.
    static func readSnapshots(_ db: Database, name: String, until done: borrowing Atomic<Bool>, reads: borrowing Atomic<Int>) {
        var last = 0
        while !done.load(ordering: .acquiring) {
            do {
                let n = try check(try db.snapshot())
                #expect(n >= last, "\(name) went back from \(last) to \(n) rows")
                last = n
                reads.add(1, ordering: .relaxed)
            } catch {
                Issue.record("\(name): \(error)")
            }
        }
    }

    /// Reader processes until `done`: `strata dump` (a consistent snapshot of another process) and
    /// `strata verify`, in turn.
    static func readInProcesses(_ path: String, until done: borrowing Atomic<Bool>, runs: borrowing Atomic<Int>) {
        var i = 0
        while !done.load(ordering: .acquiring) {
            i += 1
            do {
                if i % 3 == 0 {
                    let r = try CLI.run(["verify", path])
                    #expect(r.code == 0, "verify: \(r.out) \(r.err)")
                } else {
                    let r = try CLI.run(["dump", path, "t"])
                    #expect(r.code == 0, "dump: \(r.err)")
                    var counts: [String: Int] = [:]
                    for line in r.out.split(separator: "\n").dropFirst() {
                        let f = line.split(separator: ",")
                        #expect(Int(f[1]) == counts[String(f[0]), default: 0], "dump: \(line)")
                        counts[String(f[0]), default: 0] += 1
                    }
                    #expect(Set(counts.values).count <= 1, "dump saw symbols with different rows: \(counts)")
                }
                runs.add(1, ordering: .relaxed)
            } catch {
                Issue.record("process reader: \(error)")
            }
        }
    }

    /// `parallelInOrder` against its contract, for random share counts, failing shares and failing
    /// deliveries: results arrive in order on the calling thread, each share runs at most once and
    /// every share runs when nothing fails, the first error in share order (or the delivery's) is
    /// the one thrown, nothing is delivered past it, and no share starts after the call returns.
    @Test func sharesAreDeliveredInOrder() throws {
        var rng = SplitMix(seed: 11)
        let caller = pthread_self()
        for round in 0..<300 {
            let count = Int(rng.next() % 40)
            let failAt: Int? = rng.next() % 3 == 0 && count > 0 ? Int(rng.next() % UInt64(count)) : nil
            let refuseAt: Int? = rng.next() % 4 == 0 && count > 0 ? Int(rng.next() % UInt64(count)) : nil
            let runs = (0..<count).map { _ in Counter() }
            let slow = rng.next() % 2 == 0
            var delivered: [Int] = []
            var offThread = 0
            var thrown: StrataError?
            do {
                try parallelInOrder(count, { (i) throws(StrataError) -> Int in
                    runs[i].n.add(1, ordering: .relaxed)
                    if slow { for _ in 0..<(i % 5) * 2_000 { _ = runs[i].n.load(ordering: .relaxed) } }
                    if i == failAt { throw .badInput("share \(i)") }
                    return i * i
                }, deliver: { (v) throws(StrataError) in
                    if pthread_equal(pthread_self(), caller) == 0 { offThread += 1 }
                    if let r = refuseAt, v == r * r { throw .badInput("delivery \(r)") }
                    delivered.append(v)
                })
            } catch {
                thrown = error
            }
            let firstError = [failAt, refuseAt].compactMap { $0 }.min()
            #expect(offThread == 0, "round \(round)")
            #expect(delivered == (0..<(firstError ?? count)).map { $0 * $0 }, "round \(round)")
            if let e = firstError {
                let expected = e == failAt ? "share \(e)" : "delivery \(e)"
                #expect(thrown?.message == expected, "round \(round): \(String(describing: thrown))")
            } else {
                #expect(thrown == nil, "round \(round)")
            }
            let counts = runs.map { $0.n.load(ordering: .relaxed) }
            #expect(counts.allSatisfy { $0 <= 1 }, "round \(round)")
            if firstError == nil { #expect(counts.allSatisfy { $0 == 1 }, "round \(round)") }
            // Nothing runs after the call: the counts stay as they are.
            usleep(200)
            #expect(runs.map { $0.n.load(ordering: .relaxed) } == counts, "round \(round)")
        }
    }

    final class Counter: Sendable {
        let n = Atomic<Int>(0)
    }
}
