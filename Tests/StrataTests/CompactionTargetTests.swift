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

    @Test(.enabled(if: commits > 0)) func singleRowAppendsCompactToBulkSize() throws {
        let dir = TempDir("strata-target")
        defer { dir.cleanup() }
        let symbols = 50, rows = Self.commits
        let schema = Schema(columns: [Column("price", .float64), Column("volume", .int64)])
        let trickle = try Database.open(dir.sub("trickle"))
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
        let bulk = try Database.open(dir.sub("bulk"))
        try bulk.write { tx in
            try tx.createTable("bars", schema: schema)
            for s in 0..<symbols {
                try tx.append(to: "bars", symbol: "S\(s)", times: (0..<rows).map { Int64($0) * 60_000 }, columns: [
                    .float64((0..<rows).map { Self.price($0, s) }), .int64((0..<rows).map { Self.volume($0, s) }),
                ])
            }
        }
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
