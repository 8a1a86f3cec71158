import Foundation
import Testing
@testable import Strata
@testable import StrataTools

#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` of real `strata` processes at random moments: of imports (one commit each) and of
/// compactions. After every kill the database opens, verifies clean, and holds a committed prefix.
/// `STRATA_KILL_RUNS` sets the kills per test (default 10; the stress job runs more).
@Suite(.serialized) struct KillTests {
    static let runs = Int(ProcessInfo.processInfo.environment["STRATA_KILL_RUNS"] ?? "") ?? 10

    /// Starts `strata args`, kills it with SIGKILL after `delay` seconds unless it finished; true when killed.
    static func runAndKill(_ args: [String], after delay: Double) throws -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.currentDirectoryURL = CLI.workingDirectory
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(delay)
        while p.isRunning && Date() < deadline { usleep(500) }
        let killed = p.isRunning
        if killed { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return killed && p.terminationReason == .uncaughtSignal
    }

    static func timed(_ args: [String]) throws -> Double {
        let start = Date()
        let r = try CLI.run(args)
        #expect(r.code == 0, "\(args): \(r.err)")
        return Date().timeIntervalSince(start)
    }

    /// Imports of CSV files and of the same rows as Parquet files (written by `ParquetExporter`).
    @Test(arguments: ["csv", "parquet"]) func killedImportsLeaveACommittedPrefix(format: String) throws {
        let dir = TempDir("strata-kill")
        defer { dir.cleanup() }
        let db = dir.sub("db")
        var steps: [CrashTests.Step] = []
        for i in 0..<Self.runs + 2 {
            steps.append(try CrashTests.csv(dir.path, "f\(i).csv", from: Int64(i) * 5_000, count: 5_000))
        }
        func path(_ step: CrashTests.Step) -> String {
            guard case .importCSV(let p, _) = step else { fatalError() }
            return format == "csv" ? p : p.replacingOccurrences(of: ".csv", with: ".parquet")
        }
        if format == "parquet" {
            for (i, step) in steps.enumerated() {
                guard case .importCSV(let p, _) = step else { continue }
                let scratch = try Database.open(dir.sub("scratch\(i)"))
                _ = try CSVImporter.importFile(p, into: "csv", database: scratch)
                _ = try ParquetExporter.export(try scratch.snapshot(), table: "csv", to: path(step))
                scratch.close()
            }
        }
        // The first import, uninterrupted, gives the time scale.
        _ = try Self.timed(["import", db, "csv", path(steps[0])])
        let duration = try Self.timed(["import", db, "csv", path(steps[1])])
        var committed = [steps[0], steps[1]]
        var rng = SplitMix(seed: 2026)
        var kills = 0
        for step in steps.dropFirst(2) {
            let delay = (0.2 + Double(rng.next() % 1000) / 1000 * 1.3) * duration
            if try Self.runAndKill(["import", db, "csv", path(step)], after: delay) { kills += 1 }
            let report = Database.verify(db)
            #expect(report.isIntact, "\(report.problems)")
            // A killed import is all there or not at all.
            let counts = try Self.counts(db)
            if counts == Self.counts(CrashTests.expected(committed[...] + [step])) {
                committed.append(step)
            } else {
                #expect(counts == Self.counts(CrashTests.expected(committed[...])), "after \(committed.count) imports")
            }
        }
        #expect(try CrashTests.contents(db) == CrashTests.expected(committed[...]))
        print("kill -9 of strata import (\(format)): \(kills) kills, \(committed.count) imports committed, database intact each time")
    }

    /// The very first import into a new path, killed at random moments from its start: creating a
    /// database is atomic, so the path afterwards either does not exist or is a valid database (empty,
    /// or holding the whole import), never an empty directory that `verify` rejects.
    @Test func killedFirstImportsLeaveNothingOrADatabase() throws {
        let dir = TempDir("strata-kill-first")
        defer { dir.cleanup() }
        let step = try CrashTests.csv(dir.path, "first.csv", from: 0, count: 2_000)
        guard case .importCSV(let csv, _) = step else { return }
        let duration = try Self.timed(["import", dir.sub("timing"), "csv", csv])
        var rng = SplitMix(seed: 7)
        var outcomes: [String: Int] = [:]
        for i in 0..<Self.runs * 2 {
            let db = dir.sub("db\(i)")
            let delay = Double(rng.next() % 1000) / 1000 * duration
            _ = try Self.runAndKill(["import", db, "csv", csv], after: delay)
            if !FileManager.default.fileExists(atPath: db) {
                outcomes["nothing", default: 0] += 1
                continue
            }
            let report = Database.verify(db)
            #expect(report.isIntact, "kill after \(delay) s: \(report.problems)")
            let rows = try Self.counts(db)
            #expect(rows.isEmpty || rows == Self.counts(CrashTests.expected([step])), "kill after \(delay) s: \(rows)")
            outcomes[rows.isEmpty ? "empty database" : "whole import", default: 0] += 1
        }
        print("kill -9 of a first import into a new path: \(outcomes)")
    }

    /// `kill -9` of out-of-order imports into a dedup table (rows before, among and after the
    /// existing ones, some replacing existing keys) and of range deletes. After every kill the
    /// database verifies and holds the state before the killed command or after it, nothing between.
    @Test func killedAnyOrderImportsAndDeletesLeaveACommittedState() throws {
        let dir = TempDir("strata-kill-anyorder")
        defer { dir.cleanup() }
        let db = dir.sub("db")
        var rng = SplitMix(seed: 4242)
        // The base: every third time of 0..<30,000 for three symbols, in order.
        var state: CrashTests.Rows = [:]
        var base = "symbol,ts,price,volume\n"
        for t in stride(from: Int64(0), to: 30_000, by: 3) {
            for s in ["a", "b", "c"] {
                let (p, v) = CrashTests.value(t)
                base += "\(s),\(t),\(p),\(v)\n"
                state["keyed", default: [:]][s, default: []].append(t)
            }
        }
        try base.write(toFile: dir.sub("base.csv"), atomically: false, encoding: .utf8)
        let duration = try Self.timed(["import", db, "keyed", dir.sub("base.csv"), "--dedup"])
        var outcomes: [String: Int] = [:]
        for run in 0..<Self.runs {
            var next = state
            let args: [String]
            if run % 3 == 2 {
                let from = Int64(rng.next() % 25_000), to = from + Int64(rng.next() % 5_000)
                args = ["delete", db, "keyed", "--from", String(from), "--to", String(to)]
                for s in next["keyed"]!.keys { next["keyed"]![s]!.removeAll { $0 >= from && $0 < to } }
            } else {
                // Shuffled times over the whole range: late rows, replaced keys and new ones.
                var lines: [String] = []
                for _ in 0..<6_000 {
                    let t = Int64(rng.next() % 32_000), s = ["a", "b", "c"][Int(rng.next() % 3)]
                    let (p, v) = CrashTests.value(t)
                    lines.append("\(s),\(t),\(p),\(v)")
                    next["keyed"]![s]!.append(t)
                }
                for s in next["keyed"]!.keys { next["keyed"]![s] = Array(Set(next["keyed"]![s]!)) }
                try ("symbol,ts,price,volume\n" + lines.joined(separator: "\n") + "\n").write(toFile: dir.sub("r\(run).csv"), atomically: false, encoding: .utf8)
                args = ["import", db, "keyed", dir.sub("r\(run).csv")]
            }
            let delay = Double(rng.next() % 1000) / 1000 * duration
            let killed = try Self.runAndKill(args, after: delay)
            let report = Database.verify(db)
            #expect(report.isIntact, "run \(run): \(report.problems)")
            if Self.judge(now: try Self.counts(db), before: Self.counts(state), after: Self.counts(next), killed: killed,
                          what: "run \(run) (\(args[0]))", &outcomes) {
                state = next
            }
        }
        print("kill -9 of out-of-order dedup imports and deletes: \(outcomes)")
    }

    /// `kill -9` of `strata alter` (add, rename, drop) and of `import --add-columns` with a file that
    /// brings a new column. After every kill the database verifies, and its columns and rows are those
    /// before the killed command or those after it; a column added by a killed command that committed
    /// reads as null in the older rows.
    @Test func killedAltersLeaveTheColumnsBeforeOrAfter() throws {
        let dir = TempDir("strata-kill-alter")
        defer { dir.cleanup() }
        let db = dir.sub("db")
        var rng = SplitMix(seed: 1313)
        var base = "symbol,ts,price,volume\n"
        for t in stride(from: Int64(0), to: 60_000, by: 2) {
            let (p, v) = CrashTests.value(t)
            base += "\(["a", "b"][Int(t / 2 % 2)]),\(t),\(p),\(v)\n"
        }
        try base.write(toFile: dir.sub("base.csv"), atomically: false, encoding: .utf8)
        _ = try Self.timed(["import", db, "bars", dir.sub("base.csv")])
        let duration = try Self.timed(["alter", db, "bars", "--add-column", "extra:int64"])
        let importDuration = try Self.timed(["import", db, "bars", try Self.newColumnCSV(dir, 999, from: 70_000), "--add-columns"])
        var columns = ["price:float64", "volume:int64", "extra:int64", "n999:int64"]
        var rows = try Self.counts(db)
        var outcomes: [String: Int] = [:]
        for run in 0..<Self.runs * 2 {
            var next = columns
            var nextRows = rows
            let args: [String]
            let added = columns.dropFirst(2)
            switch rng.next() % 4 {
            case 0:
                let type = ["int64", "float64", "string"][Int(rng.next() % 3)]
                args = ["alter", db, "bars", "--add-column", "c\(run):\(type)"]
                next.append("c\(run):\(type)")
            case 1 where !added.isEmpty:
                let i = 2 + Int(rng.next() % UInt64(added.count))
                let (name, type) = Self.split(columns[i])
                args = ["alter", db, "bars", "--rename-column", "\(name):r\(run)"]
                next[i] = "r\(run):\(type)"
            case 2 where !added.isEmpty:
                let i = 2 + Int(rng.next() % UInt64(added.count))
                args = ["alter", db, "bars", "--drop-column", Self.split(columns[i]).name]
                next.remove(at: i)
            default:
                // Later rows with a column the table lacks, and none of the added ones (they fill with nulls).
                let from = Int64(100_000 + run * 10_000)
                args = ["import", db, "bars", try Self.newColumnCSV(dir, run, from: from), "--add-columns"]
                next.append("n\(run):int64")
                let a = nextRows["bars"]!["a"]!
                nextRows["bars"]!["a"] = [a[0] + 5_000, a[1] &+ (from..<from + 5_000).reduce(0, &+)]
            }
            let scale = args[0] == "import" ? importDuration : duration
            let killed = try Self.runAndKill(args, after: Double(rng.next() % 1000) / 1000 * scale * 1.5)
            let report = Database.verify(db)
            #expect(report.isIntact, "run \(run): \(report.problems)")
            let snap = try Database.open(db, options: .readOnly).snapshot()
            let now = snap.schema(of: "bars")!.columns.map { "\($0.name):\($0.type)" }
            let nowRows = try Self.counts(db)
            if Self.judge(now: Pair(now, nowRows), before: Pair(columns, rows), after: Pair(next, nextRows), killed: killed,
                          what: "run \(run) (\(args[1...]))", &outcomes) {
                columns = next
                rows = nextRows
            }
            // The base rows read null in every column added after them.
            if columns.count > 2 {
                let newest = Self.split(columns.last!).name
                let r = try CLI.run(["query", db, "SELECT count(\(newest)) AS n FROM bars WHERE ts < 60000", "--format", "csv"])
                #expect(r.code == 0 && r.out == "n\n0\n", "run \(run): \(r.out)\(r.err)")
            }
        }
        print("kill -9 of strata alter and import --add-columns: \(outcomes)")
    }

    /// 5,000 rows of symbol `a` from time `from`, with a column `n<run>` besides price and volume.
    static func newColumnCSV(_ dir: TempDir, _ run: Int, from: Int64) throws -> String {
        var csv = "symbol,ts,price,volume,n\(run)\n"
        for t in from..<from + 5_000 {
            csv += "a,\(t),1.5,\(t),\(t)\n"
        }
        try csv.write(toFile: dir.sub("n\(run).csv"), atomically: false, encoding: .utf8)
        return dir.sub("n\(run).csv")
    }

    static func split(_ column: String) -> (name: String, type: String) {
        let parts = column.split(separator: ":")
        return (String(parts[0]), String(parts[1]))
    }

    /// After a kill: the state must be the one before the killed command or the one after it. Counts
    /// the outcome; true when the command's change is in.
    static func judge<S: Equatable>(now: S, before: S, after: S, killed: Bool, what: String, _ outcomes: inout [String: Int]) -> Bool {
        if now == after {
            outcomes[killed ? "killed after its commit" : "finished", default: 0] += 1
            return true
        }
        #expect(now == before, "\(what), killed: \(killed): neither the state before nor after: \(now)")
        outcomes["killed before its commit", default: 0] += 1
        return false
    }

    struct Pair<A: Equatable, B: Equatable>: Equatable {
        var a: A
        var b: B
        init(_ a: A, _ b: B) {
            self.a = a
            self.b = b
        }
    }

    /// Rows per table and symbol, with the sum of their times: cheap enough to check after every kill.
    static func counts(_ rows: CrashTests.Rows) -> [String: [String: [Int64]]] {
        rows.mapValues { $0.mapValues { [Int64($0.count), $0.reduce(0, &+)] } }
    }

    static func counts(_ path: String) throws -> [String: [String: [Int64]]] {
        let snap = try Database.open(path, options: .readOnly).snapshot()
        var out: [String: [String: [Int64]]] = [:]
        for table in snap.tables {
            for symbol in snap.symbols(of: table) {
                var sum: Int64 = 0
                try snap.scan(table, symbol: symbol, columns: []) { b in for r in b.rows { sum &+= try b.times[r] } }
                out[table, default: [:]][symbol] = [Int64(snap.rowCount(table, symbol: symbol)), sum]
            }
        }
        return out
    }

    @Test func killedCompactionsLoseNothing() throws {
        let dir = TempDir("strata-kill")
        defer { dir.cleanup() }
        let db = dir.sub("db")
        var expected: CrashTests.Rows = [:]
        var rng = SplitMix(seed: 9)
        var kills = 0
        var duration = 0.0
        for run in 0..<Self.runs {
            // More small commits between compactions.
            let writer = try Database.open(db, options: DatabaseOptions(blockRows: 256, autoCompaction: .off))
            for c in 0..<200 {
                let t = Int64(run * 200 + c)
                try writer.write { tx in
                    if try tx.schema(of: "bars") == nil {
                        try tx.createTable("bars", schema: Schema(columns: [Column("price", .float64), Column("volume", .int64)]))
                    }
                    for s in ["a", "b", "c", "d", "e"] {
                        let (p, v) = CrashTests.value(t)
                        try tx.append(to: "bars", symbol: s, time: t, values: [.float64(p), .int64(v)])
                        expected["bars", default: [:]][s, default: []].append(t)
                    }
                }
            }
            writer.close()
            if run == 0 {
                duration = try Self.timed(["compact", db])
                continue
            }
            let delay = Double(rng.next() % 1000) / 1000 * duration * 1.2
            if try Self.runAndKill(["compact", db], after: delay) { kills += 1 }
            let report = Database.verify(db)
            #expect(report.isIntact, "\(report.problems)")
            #expect(try Self.counts(db) == Self.counts(expected), "run \(run)")
        }
        #expect(try CrashTests.contents(db) == expected)
        print("kill -9 of strata compact: \(kills) kills, no row lost, database intact each time")
    }

    // MARK: Auto-compaction

    static let trickleChild = ProcessInfo.processInfo.environment["STRATA_TRICKLE_CHILD"]

    /// The child of `killedAutoCompactingWritersLoseNothing`: one-row commits to three symbols from
    /// time `STRATA_TRICKLE_FROM` on, each acknowledged in a file after it returns, with the
    /// background compaction merging, emptying files and folding the manifest all along; until killed.
    @Test(.enabled(if: trickleChild != nil)) func trickleUntilKilled() throws {
        let db = Self.trickleChild!
        let from = Int64(ProcessInfo.processInfo.environment["STRATA_TRICKLE_FROM"] ?? "0")!
        var auto = AutoCompaction(fanIn: 4)
        auto.fileBytes = 4_096
        auto.logBytes = 8_192
        let writer = try Database.open(db, options: DatabaseOptions(blockRows: 64, autoCompaction: auto))
        let acks = FileHandle(forWritingAtPath: db + ".acks")!
        acks.seekToEndOfFile()
        for t in from..<(from + 100_000) {
            try writer.write { tx in
                if try tx.schema(of: "bars") == nil {
                    try tx.createTable("bars", schema: Schema(columns: [Column("price", .float64), Column("volume", .int64)]))
                }
                for s in ["a", "b", "c"] {
                    let (p, v) = CrashTests.value(t)
                    try tx.append(to: "bars", symbol: s, time: t, values: [.float64(p), .int64(v)])
                }
            }
            acks.write(Data("\(t)\n".utf8))
        }
    }

    /// `kill -9` of a process writing one-row commits while its background compaction runs: after
    /// each kill the database opens, verifies clean, and holds every acknowledged commit (and at most
    /// the one in flight), each symbol's rows exactly the times written, in order.
    @Test(.enabled(if: trickleChild == nil)) func killedAutoCompactingWritersLoseNothing() throws {
        let dir = TempDir("strata-kill-auto")
        defer { dir.cleanup() }
        let db = dir.sub("db")
        FileManager.default.createFile(atPath: db + ".acks", contents: nil)
        var rng = SplitMix(seed: 15)
        var next: Int64 = 0
        for run in 0..<Self.runs {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            p.currentDirectoryURL = CLI.workingDirectory
            p.arguments = ["--testing-library", "swift-testing", "--filter", "trickleUntilKilled"]
            p.environment = ProcessInfo.processInfo.environment.merging(["STRATA_TRICKLE_CHILD": db, "STRATA_TRICKLE_FROM": "\(next)"]) { $1 }
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Wait for the child's first acknowledgement, then let it run a while longer.
            let start = Date()
            while Self.acknowledged(db) < next && p.isRunning && Date().timeIntervalSince(start) < 60 { usleep(1_000) }
            usleep(UInt32(100_000 + rng.next() % 900_000))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let acked = Self.acknowledged(db)
            #expect(acked >= next, "run \(run): the child acknowledged nothing")
            let report = Database.verify(db)
            #expect(report.isIntact, "run \(run): \(report.problems)")
            let snap = try Database.open(db, options: .readOnly).snapshot()
            let rows = snap.rowCount("bars", symbol: "a")
            #expect(rows == acked + 1 || rows == acked + 2, "run \(run): \(rows) rows, \(acked + 1) acknowledged")
            for s in ["a", "b", "c"] {
                var times: [Int64] = []
                try snap.scan("bars", symbol: s, columns: []) { b in for r in b.rows { times.append(try b.times[r]) } }
                #expect(times == Array(0..<Int64(rows)), "run \(run), symbol \(s)")
            }
            next = Int64(rows)
        }
        print("kill -9 of a writer with auto-compaction running: \(Self.runs) kills after \(next) one-row commits, none lost")
    }

    /// The last time the trickle child acknowledged (-1 before any).
    static func acknowledged(_ db: String) -> Int64 {
        let text = (try? String(contentsOfFile: db + ".acks", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").last.flatMap { Int64($0) } ?? -1
    }
}
