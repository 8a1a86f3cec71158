import Foundation
import Synchronization
import Testing
@testable import Strata
@testable import StrataTools

/// A file system for fault tests, in one of two modes.
///
/// Power cut: keeps only what was made durable: file contents as of their last `sync`, and directory
/// entries as of the last `syncDirectory`. At the n-th durable step the power goes: that step and
/// everything after it fail, and `restore` rebuilds the directory as the disk would hold it. With
/// `tear`, the last write not yet synced survives in part: up to a sector boundary inside it.
///
/// I/O error: the n-th write or sync fails (a write after putting down part of its bytes, as a full
/// disk does); every other operation works, so the condition has cleared for the next one.
final class FaultFileSystem: FileSystem, @unchecked Sendable {
    enum Mode {
        case powerCut(at: Int?, tear: Bool)
        case ioError(at: Int)
    }

    private struct State {
        var nextInode = 0
        var names: [String: Int] = [:]          // path → inode, as the running program sees it
        var durableNames: [String: Int] = [:]   // path → inode, as the disk holds it
        var durableContent: [Int: [UInt8]] = [:]
        var lastWrite: (inode: Int, offset: Int, bytes: [UInt8])?
        var steps = 0
        var dead = false
    }

    static let sector = 512
    let mode: Mode
    private let real = PosixFileSystem()
    private let state = Mutex(State())

    init(_ mode: Mode) { self.mode = mode }

    /// Durable steps taken (power-cut mode), or writes and syncs (I/O-error mode).
    var steps: Int { state.withLock { $0.steps } }

    private func alive() throws(StrataError) {
        if state.withLock({ $0.dead }) { throw StrataError(.io, "power is off") }
    }

    /// Counts a step of the mode; true when it is the one that fails.
    private func step(durable: Bool) throws(StrataError) -> Bool {
        switch mode {
        case .powerCut(let at, _):
            guard durable else { try alive(); return false }
            let cut = state.withLock { s -> Bool in
                if s.dead { return true }
                defer { s.steps += 1 }
                if at == s.steps { s.dead = true; return true }
                return false
            }
            if cut { throw StrataError(.io, "power cut") }
            return false
        case .ioError(let at):
            return state.withLock { s in
                defer { s.steps += 1 }
                return at == s.steps
            }
        }
    }

    func open(_ path: String, create: Bool, writable: Bool) throws(StrataError) -> OpenFile {
        try alive()
        let existed = real.exists(path)
        let h = try real.open(path, create: create, writable: writable)
        if !existed {
            state.withLock { s in
                s.names[path] = s.nextInode
                s.nextInode += 1
            }
        }
        return h
    }

    func close(_ file: OpenFile) { real.close(file) }
    func size(_ file: OpenFile) throws(StrataError) -> UInt64 { try alive(); return try real.size(file) }
    func identity(_ file: OpenFile) throws(StrataError) -> FileIdentity { try alive(); return try real.identity(file) }
    func identity(atPath path: String) -> FileIdentity? { real.identity(atPath: path) }

    func write(_ file: OpenFile, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(StrataError) {
        if try step(durable: false) {
            try real.write(file, UnsafeRawBufferPointer(rebasing: bytes[0..<bytes.count / 2]), at: offset)
            throw StrataError(.io, "write to \(file.path) failed: No space left on device (errno 28, injected)")
        }
        try real.write(file, bytes, at: offset)
        state.withLock { s in
            if let inode = s.names[file.path] { s.lastWrite = (inode, Int(offset), Array(bytes)) }
        }
    }

    func read(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(StrataError) -> Int {
        try alive()
        return try real.read(file, into: buffer, at: offset)
    }

    func sync(_ file: OpenFile) throws(StrataError) {
        if try step(durable: true) { throw StrataError(.io, "fdatasync \(file.path) failed: Input/output error (errno 5, injected)") }
        let content = [UInt8](FileManager.default.contents(atPath: file.path) ?? Data())
        state.withLock { s in
            if let inode = s.names[file.path] {
                s.durableContent[inode] = content
                if s.lastWrite?.inode == inode { s.lastWrite = nil }
            }
        }
    }

    func truncate(_ file: OpenFile, to length: UInt64) throws(StrataError) { try alive(); try real.truncate(file, to: length) }

    func syncDirectory(_ path: String) throws(StrataError) {
        if try step(durable: true) { throw StrataError(.io, "fsync directory \(path) failed: Input/output error (errno 5, injected)") }
        state.withLock { s in
            s.durableNames = s.durableNames.filter { !$0.key.hasPrefix(path + "/") }
            for (name, inode) in s.names where name.hasPrefix(path + "/") { s.durableNames[name] = inode }
        }
    }

    func makeDirectory(_ path: String) throws(StrataError) { try alive(); try real.makeDirectory(path) }
    func removeDirectory(_ path: String) throws(StrataError) { try alive(); try real.removeDirectory(path) }
    func exists(_ path: String) -> Bool { real.exists(path) }
    func isDirectory(_ path: String) -> Bool { real.isDirectory(path) }
    func list(_ directory: String) throws(StrataError) -> [String] { try alive(); return try real.list(directory) }
    func remove(_ path: String) throws(StrataError) {
        try alive()
        try real.remove(path)
        state.withLock { _ = $0.names.removeValue(forKey: path) }
    }
    func rename(_ from: String, to: String) throws(StrataError) {
        try alive()
        try real.rename(from, to: to)
        state.withLock { s in
            if let inode = s.names.removeValue(forKey: from) { s.names[to] = inode }
        }
    }
    func tryLock(_ file: OpenFile) throws(StrataError) -> Bool { try alive(); return try real.tryLock(file) }
    func map(_ file: OpenFile, length: Int) throws(StrataError) -> MappedRegion { try alive(); return try real.map(file, length: length) }

    /// Rewrites `directory` to hold exactly what was durable when the power went off.
    func restore(_ directory: String) throws {
        var s = state.withLock { $0 }
        if case .powerCut(_, true) = mode, let w = s.lastWrite {
            // The first sector boundary past the middle of the write, if one lies strictly inside it.
            let end = w.offset + w.bytes.count
            let boundary = (w.offset + w.bytes.count / 2) / Self.sector * Self.sector + Self.sector
            if boundary < end {
                var content = s.durableContent[w.inode] ?? []
                if content.count < boundary { content += [UInt8](repeating: 0, count: boundary - content.count) }
                content.replaceSubrange(w.offset..<boundary, with: w.bytes[0..<boundary - w.offset])
                s.durableContent[w.inode] = content
            }
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            try FileManager.default.removeItem(atPath: directory + "/" + name)
        }
        for (path, inode) in s.durableNames {
            FileManager.default.createFile(atPath: path, contents: Data(s.durableContent[inode] ?? []))
        }
    }
}

@Suite struct CrashTests {
    typealias Rows = [String: [String: [Int64]]]  // table → symbol → times (values derive from time)

    /// Commits: a table with rows of two symbols, more rows and a new symbol, a second table, then
    /// small commits of a few rows each (which compaction merges).
    static let commits: [[(table: String, symbol: String, times: [Int64])]] = [
        [("bars", "159363", Array(0..<9)), ("bars", "000001", Array(0..<4))],
        [("bars", "159363", Array(9..<20)), ("bars", "1", [5, 5, 5])],
        [("fund", "159363", Array(stride(from: 0, to: 300, by: 60))), ("bars", "000001", Array(4..<7))],
        [("bars", "159363", [20]), ("bars", "000001", [7]), ("bars", "1", [6])],
        [("bars", "159363", [21, 22]), ("bars", "1", [7]), ("fund", "159363", [300])],
        [("bars", "159363", [23]), ("bars", "000001", [8, 9])],
    ]

    /// One acknowledged unit of work: a commit, a CSV import (its own commit), or a compaction.
    enum Step {
        case commit(Int)
        case importCSV(String, rows: [(String, Int64)])
        case compact
        /// A commit of `lateCommits[n]`: rows before, among and after the existing ones.
        case late(Int)
        /// A commit of `keyedCommits[n]` into the dedup table `keyed`.
        case keyed(Int)
        case delete(table: String, symbols: [String]?, from: Int64, to: Int64?)
        case drop(String)
        /// A change of a table's columns (price and volume stay the first two).
        case alter(String, Alter)
        /// A commit of `trickleCommits[n]`: one row for each of two symbols.
        case trickle(Int)
        /// Auto-compaction rounds until there is nothing to do.
        case autoCompact
    }

    enum Alter {
        case add(String, ColumnType)
        case rename(String, String)
        case drop(String)
    }

    static let lateCommits: [[(table: String, symbol: String, times: [Int64])]] = [
        [("bars", "159363", [3, 1, 25, 7, 7]), ("bars", "000001", [2, 100])],
        [("bars", "000001", [0, 50, 1]), ("fund", "159363", [30, 30, -5])],
    ]
    static let keyedCommits: [[(table: String, symbol: String, times: [Int64])]] = [
        [("keyed", "x", [5, 1, 5, 3, 8, 9, 10]), ("keyed", "y", [2])],
        [("keyed", "x", [1, 2, 9, 5]), ("keyed", "y", [2, 2, 0])],
    ]

    static let trickleCommits: [[(table: String, symbol: String, times: [Int64])]] = (0..<16).map { n in
        [("bars", "159363", [Int64(30 + n)]), ("bars", "000001", [Int64(30 + n)])]
    }

    /// A row's price (two decimals) and volume (lots of 100), pseudo-random from its time
    /// (SplitMix64's finalizer): long imports store them bit-packed in segments, as market data.
    static func value(_ t: Int64) -> (Double, Int64) {
        var x = UInt64(bitPattern: t) &+ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        return (Double(x % 9_000 + 1_000) / 100, Int64((x >> 20) % 5_000) * 100)
    }

    /// A CSV for table `csv` of `symbols` × `count` rows from time `from`, written into `dir`.
    static func csv(_ dir: String, _ name: String, from: Int64, count: Int, descending: Bool = false) throws -> Step {
        var text = "symbol,ts,price,volume\n"
        var rows: [(String, Int64)] = []
        for i in 0..<count {
            for s in ["a", "b", "c"] {
                let t = descending ? from + Int64(count - 1 - i) : from + Int64(i)
                let (p, v) = value(t)
                text += "\(s),\(t),\(p),\(v)\n"
                rows.append((s, t))
            }
        }
        try text.write(toFile: dir + "/" + name, atomically: false, encoding: .utf8)
        return .importCSV(dir + "/" + name, rows: rows)
    }

    /// The rows of `csv(...)` as a Parquet file (written by `ParquetExporter`), imported the same way.
    static func parquet(_ dir: String, _ name: String, from: Int64, count: Int) throws -> Step {
        guard case .importCSV(let csvPath, let rows) = try csv(dir, name + ".csv", from: from, count: count) else { fatalError() }
        let scratch = try Database.open(dir + "/" + name + ".db")
        _ = try CSVImporter.importFile(csvPath, into: "csv", database: scratch)
        _ = try ParquetExporter.export(try scratch.snapshot(), table: "csv", to: dir + "/" + name)
        scratch.close()
        return .importCSV(dir + "/" + name, rows: rows)
    }

    static func write(_ db: Database, _ commit: [(table: String, symbol: String, times: [Int64])], dedup: Bool = false) throws {
        try db.write { tx in
            for (table, symbol, times) in commit {
                if try tx.schema(of: table) == nil {
                    try tx.createTable(table, schema: Schema(columns: [Column("price", .float64), Column("volume", .int64)], dedup: dedup))
                }
                // Columns added after price and volume: text derived from the time, or null.
                let extra: [ColumnValues] = try tx.schema(of: table)!.columns.dropFirst(2).map { c in
                    c.type == .string ? .string(times.map { $0 % 2 == 0 ? "n\($0)" : nil }) : .optionalInt64(times.map { _ in nil })
                }
                try tx.append(to: table, symbol: symbol, times: times,
                              columns: [.float64(times.map { value($0).0 }), .int64(times.map { value($0).1 })] + extra)
            }
        }
    }

    static func perform(_ db: Database, _ step: Step) throws {
        switch step {
        case .commit(let index): try write(db, commits[index])
        case .late(let index): try write(db, lateCommits[index])
        case .trickle(let index): try write(db, trickleCommits[index])
        case .autoCompact: try db.runAutoCompaction()
        case .keyed(let index): try write(db, keyedCommits[index], dedup: true)
        case .delete(let table, let symbols, let from, let to):
            try db.write { tx in _ = try tx.delete(from: table, symbols: symbols, from: from, to: to) }
        case .drop(let table):
            try db.write { tx in try tx.dropTable(table) }
        case .alter(let table, let change):
            try db.write { tx in
                switch change {
                case .add(let name, let type): try tx.addColumn(name, type, to: table)
                case .rename(let old, let new): try tx.renameColumn(old, to: new, in: table)
                case .drop(let name): try tx.dropColumn(name, from: table)
                }
            }
        case .importCSV(let path, _) where path.hasSuffix(".parquet"):
            _ = try ParquetImporter.importPath(path, into: "csv", database: db)
        case .importCSV(let path, _):
            _ = try CSVImporter.importFile(path, into: "csv", database: db)
        case .compact:
            _ = try db.compact()
        }
    }

    /// The times each table and symbol hold after `steps`, in read order (values derive from times).
    static func expected(_ steps: ArraySlice<Step>) -> Rows {
        var rows: Rows = [:]
        for step in steps {
            switch step {
            case .commit(let index):
                for (table, symbol, times) in commits[index] { rows[table, default: [:]][symbol, default: []] += times }
            case .late(let index):
                for (table, symbol, times) in lateCommits[index] { rows[table, default: [:]][symbol, default: []] += times }
            case .trickle(let index):
                for (table, symbol, times) in trickleCommits[index] { rows[table, default: [:]][symbol, default: []] += times }
            case .keyed(let index):
                for (table, symbol, times) in keyedCommits[index] {
                    rows[table, default: [:]][symbol] = Array(Set(rows[table]?[symbol] ?? []).union(times))
                }
            case .importCSV(_, let imported):
                for (symbol, t) in imported { rows["csv", default: [:]][symbol, default: []].append(t) }
            case .compact, .alter, .autoCompact: break
            case .delete(let table, let symbols, let from, let to):
                for symbol in symbols ?? Array((rows[table] ?? [:]).keys) {
                    rows[table]?[symbol]?.removeAll { time in time >= from && (to.map { time < $0 } ?? true) }
                    if rows[table]?[symbol]?.isEmpty == true { rows[table]![symbol] = nil }
                }
            case .drop(let table): rows[table] = nil
            }
        }
        return rows.mapValues { $0.mapValues { $0.sorted() } }
    }

    static func contents(_ path: String) throws -> Rows {
        let db = try Database.open(path, options: .readOnly)
        return try contents(try db.snapshot())
    }

    static func contents(_ snap: Snapshot) throws -> Rows {
        var rows: Rows = [:]
        for table in snap.tables {
            for symbol in snap.symbols(of: table) {
                try snap.scan(table, symbol: symbol) { batch in
                    for r in batch.rows {
                        let t = try batch.times[r]
                        let (p, v) = value(t)
                        #expect(try batch.value(0, r) == .float64(p))
                        #expect(try batch.value(1, r) == .int64(v))
                        if let c = snap.schema(of: table)?.columns.dropFirst(2).first, c.type == .string {
                            let text = try batch.value(2, r)
                            #expect(text == .null || text == .string("n\(t)"))
                        }
                        rows[table, default: [:]][symbol, default: []].append(t)
                    }
                }
            }
        }
        return rows
    }

    /// Auto-compaction runs only at `.autoCompact` steps (no thread: the steps stay deterministic),
    /// merging two blocks at a time, and with sizes small enough that files are sealed, emptied and
    /// dropped and the manifest folded within a few commits.
    static let options: DatabaseOptions = {
        var auto = AutoCompaction(fanIn: 2)
        auto.inBackground = false
        auto.fileBytes = 300
        auto.logBytes = 1_500
        return DatabaseOptions(blockRows: 4, autoCompaction: auto)
    }()

    /// The workloads: plain commits; commits with compactions between them; CSV and Parquet imports and a compaction.
    static func workloads(_ csvDir: String) throws -> [[Step]] {
        [
            [.commit(0), .commit(1), .commit(2)],
            [.commit(0), .commit(1), .commit(2), .commit(3), .compact, .commit(4), .commit(5), .compact],
            [try csv(csvDir, "one.csv", from: 0, count: 6), .commit(3), try csv(csvDir, "two.csv", from: 6, count: 40),
             try parquet(csvDir, "four.parquet", from: 46, count: 9), .compact],
            // Writes in any order, a dedup table, deletes and a drop, and their compaction.
            [.commit(0), .commit(2), .late(0), .keyed(0), .delete(table: "bars", symbols: ["159363"], from: 5, to: 12),
             .compact, .late(1), .keyed(1), .delete(table: "keyed", symbols: nil, from: 2, to: 4), .drop("fund"),
             try csv(csvDir, "three.csv", from: 100, count: 5, descending: true), .compact],
            // Columns added (text, then a number), renamed and dropped between commits, and compacted.
            [.commit(0), .alter("bars", .add("note", .string)), .commit(1), .alter("bars", .rename("note", "memo")),
             .alter("bars", .add("n", .int64)), .commit(2), .alter("bars", .drop("memo")), .compact, .commit(3)],
            // A trickle of one-row commits, auto-compacted as it goes (merges, sealed and emptied files,
            // manifest folds), with late rows, a delete, a column and a compaction among them.
            [.commit(0)] + (0..<4).map { .trickle($0) } + [.autoCompact] + (4..<8).map { .trickle($0) }
                + [.late(0), .autoCompact, .delete(table: "bars", symbols: ["000001"], from: 31, to: 33)]
                + (8..<12).map { .trickle($0) } + [.alter("bars", .add("note", .string)), .autoCompact, .compact]
                + (12..<16).map { .trickle($0) } + [.autoCompact],
        ]
    }

    /// Cuts the power at every durable step of each workload (creating the database, commits, imports,
    /// compactions), once dropping everything unsynced and once tearing the last unsynced write at a
    /// sector boundary. After each cut the database opens, verifies clean, holds exactly the acknowledged
    /// steps' rows, and takes the remaining steps.
    @Test(arguments: [false, true])
    func powerCutAtEveryDurableStep(tear: Bool) throws {
        let csvDir = TempDir("strata-crash-csv")
        defer { csvDir.cleanup() }
        var cuts = 0
        for (w, steps) in try Self.workloads(csvDir.path).enumerated() {
            let dry = FaultFileSystem(.powerCut(at: nil, tear: tear))
            let dryDir = TempDir("strata-crash")
            defer { dryDir.cleanup() }
            do {
                let db = try Database(path: dryDir.path, options: Self.options, fs: dry)
                for step in steps { try Self.perform(db, step) }
                db.close()
            }
            let total = dry.steps
            #expect(total >= steps.count * 2)
            for cut in 0..<total {
                cuts += 1
                let dir = TempDir("strata-crash")
                defer { dir.cleanup() }
                let fs = FaultFileSystem(.powerCut(at: cut, tear: tear))
                var acknowledged = 0
                do {
                    let db = try Database(path: dir.path, options: Self.options, fs: fs)
                    for step in steps {
                        try Self.perform(db, step)
                        acknowledged += 1
                    }
                    Issue.record("workload \(w): the power cut at step \(cut) never happened")
                } catch {}
                try fs.restore(dir.path)
                let what = "workload \(w), cut \(cut) of \(total), \(acknowledged) acknowledged"
                if !FileManager.default.fileExists(atPath: dir.sub("MANIFEST")) {
                    #expect(acknowledged == 0, "\(what): no manifest after an acknowledged step")
                    continue
                }
                do {
                    let writer = try Database.open(dir.path)  // recovery
                    writer.close()
                }
                let report = Database.verify(dir.path)
                #expect(report.isIntact, "\(what): \(report.problems)")
                #expect(report.notes.isEmpty, "\(what): recovery left \(report.notes)")
                #expect(try Self.contents(dir.path) == Self.expected(steps[..<acknowledged]), "\(what)")
                // The writer goes on after recovery.
                let db = try Database.open(dir.path, options: Self.options)
                for step in steps[acknowledged...] { try Self.perform(db, step) }
                db.close()
                #expect(try Self.contents(dir.path) == Self.expected(steps[...]), "\(what), after resuming")
                #expect(Database.verify(dir.path).isIntact, "\(what), after resuming")
            }
        }
        print("power cuts (tear: \(tear)): \(cuts) cut points tested")
    }

    /// Fails each write and sync of the workloads in turn (a full disk, EIO). The failing step reports
    /// an error; the database stays as of the last acknowledged step, in memory and on disk; and the same
    /// handle goes on once the condition clears.
    @Test func ioErrorsLeaveTheLastCommit() throws {
        let csvDir = TempDir("strata-io-csv")
        defer { csvDir.cleanup() }
        var injected = 0
        for (w, steps) in try Self.workloads(csvDir.path).enumerated() {
            let dry = FaultFileSystem(.ioError(at: -1))
            let dryDir = TempDir("strata-io")
            defer { dryDir.cleanup() }
            do {
                let db = try Database(path: dryDir.path, options: Self.options, fs: dry)
                for step in steps { try Self.perform(db, step) }
                db.close()
            }
            for at in 0..<dry.steps {
                injected += 1
                let dir = TempDir("strata-io")
                defer { dir.cleanup() }
                let what = "workload \(w), failure \(at)"
                let fs = FaultFileSystem(.ioError(at: at))
                let db: Database
                do {
                    db = try Database(path: dir.path, options: Self.options, fs: fs)
                } catch {
                    #expect(error.kind == .io, "\(what): \(error)")
                    continue  // creating the database failed; nothing to keep
                }
                var done = 0
                var failed = false
                while done < steps.count {
                    do {
                        try Self.perform(db, steps[done])
                        done += 1
                    } catch let error as StrataError {
                        #expect(!failed, "\(what): a second failure: \(error)")
                        #expect(error.kind == .io, "\(what): \(error)")
                        failed = true
                        switch steps[done] {
                        case .compact, .autoCompact: done += 1  // nothing to redo
                        default: break
                        }
                        #expect(try Self.contents(try db.snapshot()) == Self.expected(steps[..<done]), "\(what)")
                        let v = Database.verify(dir.path)
                        #expect(v.isIntact, "\(what): \(v.problems)")
                    }
                }
                #expect(try Self.contents(try db.snapshot()) == Self.expected(steps[...]), "\(what)")
                db.close()
                #expect(try Self.contents(dir.path) == Self.expected(steps[...]), "\(what), reopened")
                #expect(Database.verify(dir.path).isIntact, "\(what), reopened")
            }
        }
        print("I/O errors: \(injected) failures injected")
    }
}
