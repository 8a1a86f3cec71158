import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// The corruption fuzzer: random damage to every kind of file (the manifest, with a compaction's
/// checkpoint and commits after it, late rows and a delete among them; the data file compaction
/// wrote, with commits appended after): bit flips,
/// zeroed pages, truncations, garbage appended. Nothing may crash (a trap or SIGBUS kills the test
/// process); verify reports damage, naming the file (and the block, for damage inside one), unless the
/// data still reads back unchanged; every read, scan or query either returns the original answer or
/// throws a StrataError.
///
/// Briefly in the suite (4 seeds × 40 trials); `scripts/reliability.sh corrupt` runs it long (STRATA_FUZZ_TRIALS per
/// seed, STRATA_FUZZ_SEEDS seeds, in a release build).
@Suite struct CorruptionTests {
    static let trials = Int(ProcessInfo.processInfo.environment["STRATA_FUZZ_TRIALS"] ?? "") ?? 40
    static let seeds = Int(ProcessInfo.processInfo.environment["STRATA_FUZZ_SEEDS"] ?? "") ?? 4

    /// Damage inside a block is named by the database's directory, the data file, the table, the
    /// symbol and the block (the error context holds numbers and finds the names when it is used),
    /// by a query's scan across symbols and by verify alike, for names too long to be kept inline.
    @Test func damageIsNamedByItsPlace() throws {
        let dir = TempDir("strata-place")
        defer { dir.cleanup() }
        let path = dir.sub("db")
        let table = "a_table_named_at_some_length", symbols = ["FIRST.SYMBOL.OF.SOME.LENGTH", "SECOND.SYMBOL.OF.SOME.LENGTH"]
        let db = try Database.open(path, options: DatabaseOptions(blockRows: 10, autoCompaction: .off))
        try db.write { tx in
            try tx.createTable(table, schema: Schema(columns: [Column("v", .int64)]))
            for s in symbols {
                for i in 0..<Int64(30) { try tx.append(to: table, symbol: s, time: i * 60_000, values: [.int64(i * i)]) }
            }
        }
        let snap = try db.snapshot()
        let t = try #require(snap.state(table))
        let id = Int(try #require(t.symbolID(symbols[1])))
        let ref = t.symbols[id].blocks[2]
        let h = try snap.header(t, symbol: id, block: 2)
        db.close()
        // One byte of the block's value chunk.
        let file = path + "/" + Catalog.dataFileName(ref.file)
        var bytes = [UInt8](FileManager.default.contents(atPath: file)!)
        bytes[Int(ref.offset) + h.headerBytes + Int(h.chunk(1).offset)] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let place = "\(path)/\(Catalog.dataFileName(ref.file)), table \(table), symbol \(symbols[1]), block 2"
        let reopened = try Database.open(path, options: .readOnly)
        defer { reopened.close() }
        do {
            _ = try reopened.snapshot().query("SELECT symbol, ts, v FROM \(table)")
            Issue.record("the damaged block was read without an error")
        } catch {
            #expect(error.message.contains(place), "\(error.message)")
        }
        let report = Database.verify(path)
        #expect(report.problems.contains { $0.contains(place) }, "\(report.problems)")
    }

    /// Builds the database; returns the rows of every committed state, in order.
    @discardableResult
    static func build(_ path: String) throws -> [Set<String>] {
        var states: [Set<String>] = []
        let db = try Database.open(path, options: DatabaseOptions(blockRows: 50))
        func record() throws { states.append(Set(try rows(try db.snapshot()))) }
        for commit in 0..<6 {
            try db.write { tx in
                if commit == 0 {
                    try tx.createTable("t", schema: Schema(columns: [Column("p", .float64), Column("v", .int64)]))
                }
                for s in ["a", "b", "c"] {
                    let times = (0..<(commit < 3 ? 120 : 7)).map { Int64(commit * 1000 + $0 * 3) }
                    try tx.append(to: "t", symbol: s, times: times,
                                  columns: [.float64(times.map { Double($0) / 1000 }), .int64(times.map { $0 * 100 })])
                }
            }
            if commit == 4 { _ = try db.compact() }
            try record()
        }
        // Late rows in the middle of every symbol and a range delete: replace-blocks entries after the checkpoint.
        try db.write { tx in
            for s in ["a", "b", "c"] {
                let times: [Int64] = [1001, 2002, 2003]
                try tx.append(to: "t", symbol: s, times: times,
                              columns: [.float64(times.map { Double($0) / 1000 }), .int64(times.map { $0 * 100 })])
            }
            _ = try tx.delete(from: "t", symbols: ["b"], from: 30, to: 90)
        }
        try record()
        db.close()
        return states
    }

    static let sql = "SELECT symbol, count(*), sum(v), min(p), max(p), first(p), last(v) FROM t GROUP BY symbol"

    /// Every row, then the answer of an aggregate query (which answers whole blocks from their statistics).
    static func readAll(_ path: String) throws -> (rows: [String], aggregates: [String]) {
        let db = try Database.open(path, options: .readOnly)
        let snap = try db.snapshot()
        let out = try rows(snap)
        let q = try snap.query(sql)
        let aggregates = (0..<q.rowCount).map { r in q.columns.map { "\($0[r])" }.joined(separator: " ") }
        return (out, aggregates)
    }

    static func rows(_ snap: Snapshot) throws -> [String] {
        var out: [String] = []
        for symbol in snap.symbols(of: "t") {
            try snap.scan("t", symbol: symbol) { batch in
                for r in batch.rows { out.append("\(symbol) \(try batch.times[r]) \(try batch.value(0, r)) \(try batch.value(1, r))") }
            }
        }
        return out
    }

    /// One random damage: bit flips (kind 0), a zeroed 4 KiB page (1), a truncation (2), garbage
    /// appended (3). Returns the kind, the position, and the lowest position changed.
    static func damage(_ bytes: inout [UInt8], _ rng: inout SplitMix) -> (kind: UInt64, at: Int, first: Int) {
        if bytes.isEmpty { bytes = [UInt8(truncatingIfNeeded: rng.next())]; return (3, 0, 0) }
        let kind = rng.next() % 4
        let at = Int(rng.next() % UInt64(bytes.count))
        var first = at
        switch kind {
        case 0:
            // `at` and up to 7 more random positions; `first` is the lowest.
            bytes[at] ^= UInt8(1 << (rng.next() % 8))
            for _ in 0..<Int(rng.next() % 8) {
                let p = Int(rng.next() % UInt64(bytes.count))
                first = min(first, p)
                bytes[p] ^= UInt8(1 << (rng.next() % 8))
            }
        case 1: for i in at / 4096 * 4096..<min(bytes.count, at / 4096 * 4096 + 4096) { bytes[i] = 0 }
        case 2: bytes.removeLast(bytes.count - at)
        default: bytes += (0..<Int(rng.next() % 600) + 1).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
        return (kind, at, first)
    }

    /// Every table of a database: all rows, and an aggregate by symbol over its columns.
    static func readTables(_ path: String) throws -> [String] {
        let db = try Database.open(path, options: .readOnly)
        defer { db.close() }
        let snap = try db.snapshot()
        var out: [String] = []
        for t in snap.tables {
            out.append("\(try snap.query(Query([.star], from: t)).rows)")
            out.append("\(try snap.query("SELECT symbol, count(*), max(ts) FROM \"\(t)\" GROUP BY symbol").rows)")
        }
        return out
    }

    /// The golden databases of every format version (Tests/Golden), each file kind damaged: the same
    /// rules as above, for databases this build did not write.
    @Test(arguments: 0..<seeds)
    func damagedGoldenDatabasesNeverCrash(seed: Int) throws {
        let dir = TempDir("strata-corrupt-golden")
        defer { dir.cleanup() }
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Golden")
        var databases: [String] = []
        let versions = try FileManager.default.contentsOfDirectory(atPath: golden.path).sorted()
        for version in versions {
            for name in try FileManager.default.contentsOfDirectory(atPath: golden.path + "/" + version).sorted() where name != "expected" {
                databases.append(golden.path + "/" + version + "/" + name)
            }
        }
        #expect(databases.count >= 15)
        var seeder = SplitMix(seed: UInt64(seed) &+ 1000)
        var rng = SplitMix(seed: seeder.next())
        var reported = 0
        for trial in 0..<Self.trials {
            let source = databases[Int(rng.next() % UInt64(databases.count))]
            let copy = dir.sub("c\(trial % 4)")
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: source, toPath: copy)
            let baseline = try Self.readTables(copy)
            let files = try FileManager.default.contentsOfDirectory(atPath: copy).filter { $0 != "LOCK" }.sorted()
            let name = files[Int(rng.next() % UInt64(files.count))]
            var bytes = [UInt8](FileManager.default.contents(atPath: copy + "/" + name)!)
            let (kind, at, _) = Self.damage(&bytes, &rng)
            try Data(bytes).write(to: URL(fileURLWithPath: copy + "/" + name))
            let what = "seed \(seed) trial \(trial): \(source.split(separator: "/").suffix(2).joined(separator: "/"))/\(name) damaged (kind \(kind) at \(at))"
            let report = Database.verify(copy)
            if !report.isIntact { reported += 1 }
            do {
                let read = try Self.readTables(copy)
                if report.isIntact && name != "MANIFEST" { #expect(read == baseline, "\(what): reads differently yet verifies") }
            } catch let error as StrataError {
                #expect(error.kind == .damaged || error.kind == .badInput, "\(what): \(error)")
            }
        }
        print("corruption fuzzer, golden databases, seed \(seed): \(Self.trials) damaged copies of \(databases.count) databases (\(versions.joined(separator: ", "))), \(reported) reported by verify, 0 crashes")
    }

    @Test(arguments: 0..<seeds)
    func randomDamageNeverCrashes(seed: Int) throws {
        let dir = TempDir("strata-corrupt")
        defer { dir.cleanup() }
        let original = dir.sub("orig")
        let states = try Self.build(original)
        let baseline = try Self.readAll(original)
        // Seeds one apart would give the same stream shifted by one step: start each from a mixed value.
        var seeder = SplitMix(seed: UInt64(seed))
        var rng = SplitMix(seed: seeder.next())
        let files = try FileManager.default.contentsOfDirectory(atPath: original).filter { $0 != "LOCK" }.sorted()
        #expect(files.contains("MANIFEST") && files.contains { $0.hasSuffix(".sdf") })
        var reported = 0, harmless = 0
        for trial in 0..<Self.trials {
            let copy = dir.sub("c\(trial % 8)")
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: original, toPath: copy)
            let name = files[Int(rng.next() % UInt64(files.count))]
            var bytes = [UInt8](FileManager.default.contents(atPath: copy + "/" + name)!)
            let (kind, at, first) = Self.damage(&bytes, &rng)
            try Data(bytes).write(to: URL(fileURLWithPath: copy + "/" + name))
            let what = "seed \(seed) trial \(trial): \(name) damaged (kind \(kind) at \(at))"
            let report = Database.verify(copy)
            if !report.isIntact {
                reported += 1
                #expect(report.problems.allSatisfy { $0.contains(name) || $0.contains("MANIFEST") }, "\(what): \(report.problems)")
                if name.hasSuffix(".sdf") && kind == 0 && first >= DataFileFormat.headerBytes {
                    #expect(report.problems.contains { $0.contains("block") || $0.contains("committed") }, "\(what): \(report.problems)")
                }
            }
            do {
                let read = try Self.readAll(copy)
                if report.isIntact {
                    harmless += 1
                    if name == "MANIFEST" {
                        // A manifest cut at a record boundary is an older, complete history: a committed state.
                        #expect(states.contains(Set(read.rows)), "\(what)")
                    } else {
                        #expect(read.rows == baseline.rows && read.aggregates == baseline.aggregates, "\(what): reads differently yet verifies")
                    }
                }
            } catch let error as StrataError {
                #expect(error.kind == .damaged || error.kind == .badInput, "\(what): \(error)")
                #expect(!report.isIntact, "\(what): read failed (\(error)) but verify passed")
            }
        }
        print("corruption fuzzer seed \(seed): \(Self.trials) damaged copies, \(reported) reported by verify, \(harmless) harmless (read back unchanged or an older complete history), 0 crashes")
    }
}
