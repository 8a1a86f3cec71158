import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// Blocks read the first time are copied with pread(2) and read through the mapping after: block
/// headers read for their statistics alone (`Snapshot.statsHeader`), and a block's header with the
/// few chunks a decode reads (`Snapshot.decode`, `BlockCopy.block`). Both ways give the same answers,
/// a header longer than the table's columns (chunks of a dropped column) included.
@Suite struct StatisticsReadTests {
    /// The rows `sql` answers, each as its values' text joined by spaces.
    static func rows(_ snap: Snapshot, _ sql: String) throws -> [String] {
        let q = try snap.query(sql)
        return (0..<q.rowCount).map { r in q.columns.map { "\($0[r])" }.joined(separator: " ") }
    }

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
            return region.firstRead(at: offset) && region.copy(target, at: offset) ? Array(target) : nil
        }
        #expect(read(100) == Array(bytes[100..<164]))
        #expect(read(100) == nil)  // read again: the mapping's turn
        #expect(read(4000) == nil)  // another place in the same page
        #expect(read(4096 + 5) == Array(bytes[4101..<4165]))
        #expect(read(bytes.count - 8, 8) == Array(bytes[(bytes.count - 8)...]))
        // Past the end: never copied, and no page there to mark.
        #expect(region.copy(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<16]), at: bytes.count - 8) == false)
        #expect(region.copy(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<8]), at: -1) == false)
        #expect(region.firstRead(at: -1) == false && region.firstRead(at: bytes.count) == false)
        #expect(region.firstRead(at: 2 * 4096 + 1) && !region.firstRead(at: 2 * 4096 + 9))
        #expect(MappedRegion.copying(bytes).firstRead(at: 0) == false)
        #expect(MappedRegion.copying(bytes).copy(buffer, at: 0) == false)
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
        let snap = try db.snapshot()
        for _ in 0..<3 { #expect(try Self.rows(snap, sql) == expected) }
        db.close()
        let reopened = try Database.open(path, options: .readOnly)
        defer { reopened.close() }
        #expect(try Self.rows(try reopened.snapshot(), sql) == expected)
    }

    /// A wide table in blocks of 1,000 rows: a decode of one column (and the time column) copies the
    /// block the first time, of three columns reads the mapping (more than `BlockCopy.chunkBytesMax`).
    /// LATEST ON at random times and ranges of one and of three columns, each asked three times of
    /// one snapshot (copies, then the mapping faulted in, then mapped): always the reference's rows.
    @Test(arguments: 0..<3)
    func decodesAgreeReadEitherWay(seed: UInt64) throws {
        let dir = TempDir("strata-copyread")
        defer { dir.cleanup() }
        var rng = SplitMix(seed: seed &+ 991)
        let db = try Database.open(dir.sub("db"), options: DatabaseOptions(blockRows: 1_000, autoCompaction: .off))
        defer { db.close() }
        let names = (0..<6).map { "c\($0)" }
        var model: [String: [(time: Int64, values: [Double])]] = [:]
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: names.map { Column($0, .float64) }))
            for s in ["s0", "s1", "s2"] {
                let n = Int(rng.next() % 5_000) + 500
                var times: [Int64] = []
                for i in 0..<Int64(n) { times.append(i * 60_000 + (i % 2 == 0 ? 0 : Int64(rng.next() % 3) * 1_000)) }
                let columns = names.map { _ in times.map { _ in Double(bitPattern: rng.next() >> 2) } }
                try tx.append(to: "t", symbol: s, times: times, columns: columns.map { .float64($0) })
                model[s] = times.indices.map { i in (times[i], columns.map { $0[i] }) }
            }
        }
        let snap = try db.snapshot()
        func rows(_ sql: String) throws -> [String] { try Self.rows(snap, sql) }
        for _ in 0..<4 {
            let at = Int64(rng.next() % 6_000) * 60_000
            let latest = model.keys.sorted().compactMap { s in
                model[s]!.last { $0.time <= at }.map { "\(s) \($0.time) \($0.values[2])" }
            }
            let from = Int64(rng.next() % 5_000) * 60_000, to = from + Int64(rng.next() % 3_000) * 60_000
            let range = model["s1"]!.filter { $0.time >= from && $0.time < to }
            let one = range.map { "\($0.time) \($0.values[4])" }
            let three = range.map { "\($0.time) \($0.values[1]) \($0.values[3]) \($0.values[5])" }
            for _ in 0..<3 {
                #expect(try rows("SELECT symbol, ts, c2 FROM t WHERE ts <= \(at) LATEST ON ts PARTITION BY symbol") == latest)
                #expect(try rows("SELECT ts, c4 FROM t WHERE symbol = 's1' AND ts >= \(from) AND ts < \(to)") == one)
                #expect(try rows("SELECT ts, c1, c3, c5 FROM t WHERE symbol = 's1' AND ts >= \(from) AND ts < \(to)") == three)
            }
        }
    }

    /// Prices in segments (a decimal random walk, bit-packed without LZ4, blocks of 9,000 rows) and
    /// a volume column with null rows: a decode copies a chunk in segments only through the segments
    /// holding the rows it wants (`BlockCopy.fill`), the rest whole. LATEST ON at random times and
    /// ranges, of the prices alone and with the volumes, each asked three times of one snapshot
    /// (copies, then the mapping faulted in, then mapped): always the reference's rows.
    @Test(arguments: 0..<3)
    func segmentsAreCopiedForTheRowsRead(seed: UInt64) throws {
        let dir = TempDir("strata-segcopy")
        defer { dir.cleanup() }
        var rng = SplitMix(seed: seed &+ 4_242)
        let db = try Database.open(dir.sub("db"), options: DatabaseOptions(blockRows: 9_000, autoCompaction: .off))
        defer { db.close() }
        var model: [String: [(time: Int64, price: Double, volume: Int64?)]] = [:]
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("price", .float64), Column("volume", .int64)]))
            for s in ["a", "b", "c", "d"] {
                let n = Int(rng.next() % 22_000) + 3_000
                var price: Int64 = 25_000
                var rows: [(time: Int64, price: Double, volume: Int64?)] = []
                for i in 0..<n {
                    price += Int64(rng.next() % 41) - 20
                    rows.append((Int64(i) * 60_000, Double(price) / 1_000, rng.next() % 9 == 0 ? nil : Int64(rng.next() % 500) * 100))
                }
                try tx.append(
                    to: "t", symbol: s, times: rows.map(\.time),
                    columns: [.float64(rows.map(\.price)), .optionalInt64(rows.map(\.volume))])
                model[s] = rows
            }
        }
        let snap = try db.snapshot()
        let t = try snap.tableState("t")
        let header = try snap.header(t, symbol: 0, block: 0)
        #expect(header.chunk(1).encoding.segmented, "the prices are in segments: \(header.chunk(1).encoding.summary)")
        func rows(_ sql: String) throws -> [String] { try Self.rows(snap, sql) }
        func text(_ v: Int64?) -> String { v.map { "\($0)" } ?? "null" }
        for _ in 0..<5 {
            let at = Int64(rng.next() % 26_000) * 60_000 + Int64(rng.next() % 2) * 30_000
            let latest = model.keys.sorted().compactMap { s in model[s]!.last { $0.time <= at }.map { (s, $0) } }
            let from = Int64(rng.next() % 24_000) * 60_000, to = from + Int64(rng.next() % 12_000) * 60_000
            let range = model["b"]!.filter { $0.time >= from && $0.time < to }
            for _ in 0..<3 {
                #expect(
                    try rows("SELECT symbol, ts, price FROM t WHERE ts <= \(at) LATEST ON ts PARTITION BY symbol")
                        == latest.map { "\($0.0) \($0.1.time) \($0.1.price)" })
                #expect(
                    try rows("SELECT symbol, price, volume FROM t WHERE ts <= \(at) LATEST ON ts PARTITION BY symbol")
                        == latest.map { "\($0.0) \($0.1.price) \(text($0.1.volume))" })
                #expect(
                    try rows("SELECT ts, price FROM t WHERE symbol = 'b' AND ts >= \(from) AND ts < \(to)")
                        == range.map { "\($0.time) \($0.price)" })
            }
        }
    }
}
