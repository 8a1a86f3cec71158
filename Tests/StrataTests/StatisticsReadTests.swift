import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// Block headers read for their statistics alone are copied with pread(2) the first time and read
/// through the mapping after (`Snapshot.statsHeader`): both ways give the same answers, a header
/// longer than the table's columns (chunks of a dropped column) included.
@Suite struct StatisticsReadTests {
    @Test func aPageIsCopiedOnlyTheFirstTime() throws {
        let dir = TempDir("strata-firstread")
        defer { dir.cleanup() }
        let path = dir.sub("f")
        let bytes = (0..<(3 * 4096 + 100)).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 251) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let fs = PosixFileSystem()
        let file = try fs.open(path, create: false, writable: false)
        let region = try fs.map(file, length: bytes.count)
        fs.close(file)  // the region keeps a descriptor of its own
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { buffer.deallocate() }
        func read(_ offset: Int, _ count: Int = 64) -> [UInt8]? {
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            return region.readFirstTime(target, at: offset) ? Array(target) : nil
        }
        #expect(read(100) == Array(bytes[100..<164]))
        #expect(read(100) == nil)  // read again: the mapping's turn
        #expect(read(4000) == nil)  // another place in the same page
        #expect(read(4096 + 5) == Array(bytes[4101..<4165]))
        #expect(read(bytes.count - 8, 16) == nil)  // past the end: never copied
        #expect(read(-1) == nil)
        #expect(read(bytes.count - 8, 8) == Array(bytes[(bytes.count - 8)...]))
        #expect(MappedRegion.copying(bytes).readFirstTime(buffer, at: 0) == false)
    }

    /// Random blocks of every size (several headers in a page, or one), a column added and dropped
    /// between commits; an aggregate by symbol answered from statistics, asked three times of one
    /// snapshot (copies, then the mapping faulted in, then mapped) and of a reopened database,
    /// always the reference's answer.
    @Test(arguments: 0..<4)
    func statisticsAgreeReadEitherWay(seed: UInt64) throws {
        let dir = TempDir("strata-statsread")
        defer { dir.cleanup() }
        var rng = SplitMix(seed: seed &+ 77)
        let path = dir.sub("db")
        let db = try Database.open(path, options: DatabaseOptions(blockRows: [3, 40, 700, 5_000][Int(seed)], autoCompaction: .off))
        var model: [String: [(v: Int64, p: Double)]] = [:]
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("v", .int64), Column("p", .float64)]))
            try tx.addColumn("x", .int64, to: "t")
        }
        for commit in 0..<3 {
            try db.write { tx in
                if commit == 2 { try tx.dropColumn("x", from: "t") }
                for s in ["a", "bb", "c", "d"] {
                    let n = Int(rng.next() % 9_000) + 1
                    let start = Int64(commit) * 1_000_000_000
                    let times = (0..<n).map { start + Int64($0) * 60_000 }
                    let v = times.map { _ in Int64(rng.next() % 100_000) - 50_000 }
                    let p = times.map { _ in Double(Int64(rng.next() % 1_000_000)) / 100 }
                    var columns: [ColumnValues] = [.int64(v), .float64(p)]
                    if commit < 2 { columns.append(.int64(times)) }
                    try tx.append(to: "t", symbol: s, times: times, columns: columns)
                    model[s, default: []] += zip(v, p).map { ($0, $1) }
                }
            }
        }
        let expected = model.keys.sorted().map { s in
            let r = model[s]!
            return "\(s) \(r.count) \(r.reduce(0) { $0 + $1.v }) \(r.map(\.p).min()!) \(r.map(\.p).max()!) \(r.first!.p) \(r.last!.v)"
        }
        let sql = "SELECT symbol, count(*), sum(v), min(p), max(p), first(p), last(v) FROM t GROUP BY symbol"
        func answer(_ snap: Snapshot) throws -> [String] {
            let q = try snap.query(sql)
            return (0..<q.rowCount).map { r in q.columns.map { "\($0[r])" }.joined(separator: " ") }
        }
        let snap = try db.snapshot()
        for _ in 0..<3 { #expect(try answer(snap) == expected) }
        db.close()
        let reopened = try Database.open(path, options: .readOnly)
        defer { reopened.close() }
        #expect(try answer(try reopened.snapshot()) == expected)
    }
}
