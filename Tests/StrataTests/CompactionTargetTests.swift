import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// The compaction target, as a benchmark job (`scripts/reliability.sh`, release build), not part of
/// the suite: STRATA_COMPACTION_TARGET=N commits of one row to each of 50 symbols (N = 100,000 in the
/// issue), then compaction, against a bulk import of the same rows. Checks bytes per row within 10%;
/// prints query times (the ratio is reported, not asserted: times on a shared machine are noise).
@Suite struct CompactionTargetTests {
    static let commits = Int(ProcessInfo.processInfo.environment["STRATA_COMPACTION_TARGET"] ?? "") ?? 0

    static func price(_ r: Int, _ s: Int) -> Double {
        let cents: Int = 100_000 + (r * 37 + s * 101) % 2_000 - 1_000 + s * 50
        return Double(cents) / 1000
    }
    static func volume(_ r: Int, _ s: Int) -> Int64 { Int64((r * 13 + s) % 97) * 100 }

    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = Date()
        try body()
        return Date().timeIntervalSince(start)
    }

    static func queries(_ db: Database) throws -> Double {
        let snap = try db.snapshot()
        var best = Double.infinity
        for _ in 0..<5 {
            best = min(best, try time {
                _ = try snap.query("SELECT symbol, count(*), avg(price), max(price), sum(volume) FROM bars GROUP BY symbol")
                _ = try snap.query("SELECT ts, price FROM bars WHERE symbol = 'S7' AND ts >= 600000000 AND ts < 1200000000")
            })
        }
        return best
    }

    static func bytes(_ path: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: path).reduce(0) { total, name in
            total + ((try FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as? Int) ?? 0)
        }
    }

    static let schema = Schema(columns: [Column("price", .float64), Column("volume", .int64)])

    /// Minute bars of `symbols` symbols: for each, a price walking by ±0-2 ticks of 0.001 from its
    /// own level, and volumes in lots of 100 (what the sample data has, not a repeating pattern).
    struct Series {
        var prices: [[Double]]
        var volumes: [[Int64]]

        init(rows: Int, symbols: Int) {
            var rng = SplitMix(seed: 2026)
            prices = (0..<symbols).map { s in
                var cents = 1_000 + s * 37
                return (0..<rows).map { _ in
                    cents = max(100, cents + Int(rng.next() % 5) - 2)
                    return Double(cents) / 1000
                }
            }
            volumes = (0..<symbols).map { _ in (0..<rows).map { _ in Int64(rng.next() % 500) * 100 } }
        }

        func price(_ r: Int, _ s: Int) -> Double { prices[s][r] }
        func volume(_ r: Int, _ s: Int) -> Int64 { volumes[s][r] }
    }

    /// The same rows as `rows` one-row commits to each of `symbols` symbols, in one commit.
    static func bulk(_ path: String, rows: Int, symbols: Int, series: Series? = nil) throws -> Database {
        let bulk = try Database.open(path, options: DatabaseOptions(autoCompaction: .off))
        try bulk.write { tx in
            try tx.createTable("bars", schema: schema)
            for s in 0..<symbols {
                try tx.append(to: "bars", symbol: "S\(s)", times: (0..<rows).map { Int64($0) * 60_000 }, columns: [
                    .float64((0..<rows).map { series?.price($0, s) ?? Self.price($0, s) }),
                    .int64((0..<rows).map { series?.volume($0, s) ?? Self.volume($0, s) }),
                ])
            }
        }
        return bulk
    }

    /// `rows` commits of one row to each of `symbols` symbols; returns each commit's latency in ms.
    static func feed(_ db: Database, rows: Int, symbols: Int, series: Series) throws -> [Double] {
        try db.write { tx in try tx.createTable("bars", schema: schema) }
        var latencies: [Double] = []
        latencies.reserveCapacity(rows)
        let clock = ContinuousClock()
        for r in 0..<rows {
            let start = clock.now
            try db.write { tx in
                for s in 0..<symbols {
                    try tx.append(to: "bars", symbol: "S\(s)", time: Int64(r) * 60_000, values: [.float64(series.price(r, s)), .int64(series.volume(r, s))])
                }
            }
            let d = clock.now - start
            latencies.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
        }
        return latencies
    }

    static let autoCommits = Int(ProcessInfo.processInfo.environment["STRATA_AUTO_COMPACTION_TARGET"] ?? "") ?? 0

    /// The auto-compaction target, as a benchmark job (`scripts/reliability.sh autotarget`): the
    /// feed of the compaction target with no call to `compact`, with and without auto-compaction:
    /// bytes against a bulk import of the same rows (within 20%), commit latency p50/p99 and commits
    /// per second (p99 at most 2× the feed's without). Reported; the byte target is checked.
    @Test(.enabled(if: autoCommits > 0)) func autoCompactionKeepsAFeedNearBulkSize() throws {
        let dir = TempDir("strata-auto-target")
        defer { dir.cleanup() }
        let symbols = 50, rows = Self.autoCommits
        func summary(_ l: [Double]) -> String {
            let s = l.sorted(), total = l.reduce(0, +)
            return String(format: "p50 %.3f ms, p99 %.3f ms, max %.1f ms, %.0f commits/s", s[s.count / 2], s[s.count * 99 / 100], s.last!, Double(l.count) / total * 1000)
        }
        let series = Series(rows: rows, symbols: symbols)
        let plain = try Database.open(dir.sub("plain"), options: DatabaseOptions(autoCompaction: .off))
        let without = try Self.feed(plain, rows: rows, symbols: symbols, series: series)
        plain.close()
        let auto = try Database.open(dir.sub("auto"))
        let with = try Self.feed(auto, rows: rows, symbols: symbols, series: series)
        let atLastCommit = try Self.bytes(dir.sub("auto"))
        let blocksAtLastCommit = try auto.snapshot().info("bars").blocks
        let layout = try Self.layout(auto.snapshot(), dir.sub("auto"))
        try auto.runAutoCompaction()  // what the background thread would do next, done here
        let settled = try Self.bytes(dir.sub("auto"))
        auto.close()
        let bulkDB = try Self.bulk(dir.sub("bulk"), rows: rows, symbols: symbols, series: series)
        let bulk = try Self.bytes(dir.sub("bulk"))
        let blocksBulk = try bulkDB.snapshot().info("bars").blocks
        let plainBytes = try Self.bytes(dir.sub("plain"))
        let p99 = { (l: [Double]) in l.sorted()[l.count * 99 / 100] }
        print("""
            auto-compaction target: \(rows) commits x \(symbols) symbols, no compact()
              without auto-compaction: \(summary(without)); \(plainBytes) bytes (\(String(format: "%.2f", Double(plainBytes) / Double(bulk)))x bulk)
              with auto-compaction:    \(summary(with)); \(atLastCommit) bytes at the last commit (\(String(format: "%.3f", Double(atLastCommit) / Double(bulk)))x bulk, \(blocksAtLastCommit) blocks), \(settled) settled (\(String(format: "%.3f", Double(settled) / Double(bulk)))x)
              at the last commit: \(layout)
              bulk import: \(bulk) bytes, \(blocksBulk) blocks; p99 with/without \(String(format: "%.2f", p99(with) / p99(without)))
            """)
        #expect(Double(atLastCommit) <= Double(bulk) * 1.2)
        #expect(Database.verify(dir.sub("auto")).isIntact)
    }

    /// Where the bytes are: the manifest, and each data file's live bytes and size.
    static func layout(_ snap: Snapshot, _ path: String) throws -> String {
        var live: [UInt32: Int] = [:]
        var small = 0
        for t in snap.catalog.tables.values {
            for s in t.symbols {
                for b in s.blocks {
                    live[b.file, default: 0] += Int(b.length)
                    if b.rows < 8_192 { small += Int(b.length) }
                }
            }
        }
        let manifest = (try FileManager.default.attributesOfItem(atPath: path + "/MANIFEST")[.size] as? Int) ?? 0
        let files = snap.catalog.files.values.sorted { $0.id < $1.id }.map { "\($0.id): \(live[$0.id] ?? 0)/\($0.length)" }
        return "manifest \(manifest) bytes; small blocks \(small) bytes; files (live/size) \(files.joined(separator: ", "))"
    }

    @Test(.enabled(if: commits > 0)) func singleRowAppendsCompactToBulkSize() throws {
        let dir = TempDir("strata-target")
        defer { dir.cleanup() }
        let symbols = 50, rows = Self.commits
        let schema = Schema(columns: [Column("price", .float64), Column("volume", .int64)])
        let trickle = try Database.open(dir.sub("trickle"), options: DatabaseOptions(autoCompaction: .off))
        try trickle.write { tx in try tx.createTable("bars", schema: schema) }
        let appendTime = try Self.time {
            for r in 0..<rows {
                try trickle.write { tx in
                    for s in 0..<symbols {
                        try tx.append(to: "bars", symbol: "S\(s)", time: Int64(r) * 60_000, values: [.float64(Self.price(r, s)), .int64(Self.volume(r, s))])
                    }
                }
            }
        }
        let bulk = try Self.bulk(dir.sub("bulk"), rows: rows, symbols: symbols)
        let total = Double(rows * symbols)
        let before = try Self.bytes(dir.sub("trickle"))
        let queryBefore = try Self.queries(trickle)
        var report = CompactionReport()
        let compactTime = try Self.time { report = try trickle.compact() }
        let after = try Self.bytes(dir.sub("trickle"))
        let bulkBytes = try Self.bytes(dir.sub("bulk"))
        let queryAfter = try Self.queries(trickle)
        let queryBulk = try Self.queries(bulk)
        print("""
            compaction target: \(rows) commits x \(symbols) symbols = \(Int(total)) rows, appended in \(String(format: "%.1f", appendTime)) s
              before: \(before) bytes (\(String(format: "%.2f", Double(before) / total)) B/row), \(report.blocksBefore) blocks, manifest \(report.manifestBytesBefore) bytes; queries \(String(format: "%.2f", queryBefore * 1000)) ms
              after:  \(after) bytes (\(String(format: "%.2f", Double(after) / total)) B/row), \(report.blocksAfter) blocks, manifest \(report.manifestBytesAfter) bytes; queries \(String(format: "%.2f", queryAfter * 1000)) ms; compaction \(String(format: "%.1f", compactTime)) s
              bulk:   \(bulkBytes) bytes (\(String(format: "%.2f", Double(bulkBytes) / total)) B/row); queries \(String(format: "%.2f", queryBulk * 1000)) ms
              ratios: bytes after/bulk \(String(format: "%.3f", Double(after) / Double(bulkBytes))), query after/bulk \(String(format: "%.2f", queryAfter / queryBulk)), query before/bulk \(String(format: "%.1f", queryBefore / queryBulk))
            """)
        #expect(Double(after) <= Double(bulkBytes) * 1.10)
        #expect(Database.verify(dir.sub("trickle")).isIntact)
    }
}
