import Foundation
import Synchronization
import Testing
@testable import Strata

/// A file system that keeps only what was made durable: file contents as of their last `sync`, and
/// directory entries as of the last `syncDirectory`. At the n-th durable step the power is cut: that
/// step and everything after it fail, and `restore` rebuilds the directory as the disk would hold it.
final class PowerCutFileSystem: FileSystem, @unchecked Sendable {
    private struct State {
        var nextInode = 0
        var names: [String: Int] = [:]          // path → inode, as the running program sees it
        var durableNames: [String: Int] = [:]   // path → inode, as the disk holds it
        var durableContent: [Int: [UInt8]] = [:]
        var steps = 0
        var cutAt: Int?
        var dead = false
    }

    private let real = PosixFileSystem()
    private let state: Mutex<State>

    init(cutAt: Int?) {
        state = Mutex(State(cutAt: cutAt))
    }

    var steps: Int { state.withLock { $0.steps } }

    private func alive() throws(StrataError) {
        if state.withLock({ $0.dead }) { throw StrataError(.io, "power is off") }
    }

    /// Counts a durable step; cuts the power when it is the chosen one.
    private func durableStep() throws(StrataError) {
        let cut = state.withLock { s -> Bool in
            if s.dead { return true }
            defer { s.steps += 1 }
            if s.cutAt == s.steps { s.dead = true; return true }
            return false
        }
        if cut { throw StrataError(.io, "power cut") }
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
        try alive()
        try real.write(file, bytes, at: offset)
    }
    func read(_ file: OpenFile, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(StrataError) -> Int {
        try alive()
        return try real.read(file, into: buffer, at: offset)
    }
    func sync(_ file: OpenFile) throws(StrataError) {
        try durableStep()
        let content = [UInt8](FileManager.default.contents(atPath: file.path) ?? Data())
        state.withLock { s in
            if let inode = s.names[file.path] { s.durableContent[inode] = content }
        }
    }
    func truncate(_ file: OpenFile, to length: UInt64) throws(StrataError) { try alive(); try real.truncate(file, to: length) }
    func syncDirectory(_ path: String) throws(StrataError) {
        try durableStep()
        state.withLock { s in
            s.durableNames = s.durableNames.filter { !$0.key.hasPrefix(path + "/") }
            for (name, inode) in s.names where name.hasPrefix(path + "/") { s.durableNames[name] = inode }
        }
    }
    func makeDirectory(_ path: String) throws(StrataError) { try alive(); try real.makeDirectory(path) }
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
        let s = state.withLock { $0 }
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

    /// Three commits: a table with rows of two symbols, more rows and a new symbol, a second table.
    static let commits: [[(table: String, symbol: String, times: [Int64])]] = [
        [("bars", "159363", Array(0..<9)), ("bars", "000001", Array(0..<4))],
        [("bars", "159363", Array(9..<20)), ("bars", "1", [5, 5, 5])],
        [("fund", "159363", Array(stride(from: 0, to: 300, by: 60))), ("bars", "000001", Array(4..<7))],
    ]

    static func run(_ db: Database, commit index: Int) throws {
        try db.write { tx in
            for (table, symbol, times) in commits[index] {
                if tx.schema(of: table) == nil {
                    try tx.createTable(table, schema: Schema(columns: [Column("price", .float64), Column("volume", .int64)]))
                }
                try tx.append(to: table, symbol: symbol, times: times,
                              columns: [.float64(times.map { Double($0) / 1000 + 1.5 }), .int64(times.map { $0 * 100 })])
            }
        }
    }

    static func expected(after acknowledged: Int) -> Rows {
        var rows: Rows = [:]
        for c in commits.prefix(acknowledged) {
            for (table, symbol, times) in c { rows[table, default: [:]][symbol, default: []] += times }
        }
        return rows
    }

    static func contents(_ path: String) throws -> Rows {
        let db = try Database.open(path, options: .readOnly)
        let snap = try db.snapshot()
        var rows: Rows = [:]
        for table in snap.tables {
            for symbol in snap.symbols(of: table) {
                try snap.scan(table, symbol: symbol) { batch in
                    for r in batch.rows {
                        let t = batch.times[r]
                        #expect(batch.value(0, r) == .float64(Double(t) / 1000 + 1.5))
                        #expect(batch.value(1, r) == .int64(t * 100))
                        rows[table, default: [:]][symbol, default: []].append(t)
                    }
                }
            }
        }
        return rows
    }

    /// Cuts the power at every durable step of creating a database and making three commits; after each
    /// cut the database opens, verifies clean, holds exactly the acknowledged commits, and takes new ones.
    @Test func powerCutAtEveryDurableStep() throws {
        let dry = PowerCutFileSystem(cutAt: nil)
        let dryDir = TempDir("strata-crash")
        defer { dryDir.cleanup() }
        do {
            let db = try Database(path: dryDir.path, options: DatabaseOptions(blockRows: 4), fs: dry)
            for i in Self.commits.indices { try Self.run(db, commit: i) }
            db.close()
        }
        let total = dry.steps
        #expect(total >= 3 * 2 + 2)
        for cut in 0..<total {
            let dir = TempDir("strata-crash")
            defer { dir.cleanup() }
            let fs = PowerCutFileSystem(cutAt: cut)
            var acknowledged = 0
            do {
                let db = try Database(path: dir.path, options: DatabaseOptions(blockRows: 4), fs: fs)
                for i in Self.commits.indices {
                    try Self.run(db, commit: i)
                    acknowledged += 1
                }
                Issue.record("the power cut at step \(cut) never happened")
            } catch {}
            try fs.restore(dir.path)
            if !FileManager.default.fileExists(atPath: dir.sub("MANIFEST")) {
                #expect(acknowledged == 0, "cut \(cut): no manifest after an acknowledged commit")
                continue
            }
            do {
                let writer = try Database.open(dir.path)  // recovery
                writer.close()
            }
            let report = Database.verify(dir.path)
            #expect(report.isIntact, "cut \(cut): \(report.problems)")
            #expect(try Self.contents(dir.path) == Self.expected(after: acknowledged), "cut \(cut), \(acknowledged) acknowledged")
            // The writer goes on after recovery.
            let db = try Database.open(dir.path, options: DatabaseOptions(blockRows: 4))
            for i in acknowledged..<Self.commits.count { try Self.run(db, commit: i) }
            db.close()
            #expect(try Self.contents(dir.path) == Self.expected(after: Self.commits.count), "cut \(cut) after resuming")
            #expect(Database.verify(dir.path).isIntact)
        }
    }
}
