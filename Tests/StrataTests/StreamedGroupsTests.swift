import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// A symbol's resampling hands its groups out as they are complete (a table of states keeps a few
/// hundred groups at most): every group once, whole and in order, whatever the blocks, the write
/// order, nulls, text and order statistics, and not across a time zone's clock going back.
@Suite struct StreamedGroupsTests {
    /// Where two results' rows first differ (Float64 compared by bits), or nil.
    static func difference(_ a: [[ResultValue]], _ b: [[ResultValue]]) -> String? {
        func bits(_ v: ResultValue) -> ResultValue {
            if case .float(let d) = v { return .int(Int64(bitPattern: d.bitPattern)) }
            return v
        }
        for k in 0..<min(a.count, b.count) where a[k].map(bits) != b[k].map(bits) { return "row \(k): \(a[k]) against \(b[k])" }
        return a.count == b.count ? nil : "\(a.count) rows against \(b.count)"
    }

    static func rows(_ r: QueryResult) -> [[ResultValue]] {
        (0..<r.rowCount).map { k in (0..<r.columns.count).map { r[k, $0] } }
    }

    /// Rows of "x" (and a few of "y") at distinct times a few seconds to minutes apart, written in
    /// shuffled chunks (so later writes merge into blocks already written), from `base`; for a third of
    /// the seeds two stretches of "x" are deleted afterwards.
    static func makeDatabase(_ path: String, seed: UInt64, base: Int64) throws -> (Database, count: Int) {
        var rng = SplitMix(seed: seed)
        let db = try Database.open(path, options: DatabaseOptions(blockRows: [7, 64, 500][Int(seed % 3)], autoCompaction: .off))
        var rows: [(String, Int64, [Value])] = []
        var t = base
        let n = 2_000 + Int(rng.next() % 1_000)
        for k in 0..<n {
            t += Int64(1 + rng.next() % 180) * 1_000
            let p: Value = rng.next() % 9 == 0 ? .null : .float64(Double(Int64(rng.next() % 10_000) - 5_000) / 100)
            let s: Value = rng.next() % 5 == 0 ? .null : .string("w\(rng.next() % 40)")
            rows.append((k % 50 == 0 ? "y" : "x", t, [.int64(Int64(rng.next() % 2_000) - 1_000), p, s]))
        }
        var chunks = stride(from: 0, to: rows.count, by: 97).map { Array(rows[$0..<min($0 + 97, rows.count)]) }
        if seed % 2 == 1 {
            for i in chunks.indices.reversed() { chunks.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        }
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("v", .int64), Column("p", .float64), Column("s", .string)]))
        }
        for chunk in chunks {
            try db.write { tx in
                for (symbol, time, values) in chunk { try tx.append(to: "t", symbol: symbol, time: time, values: values) }
            }
        }
        var count = rows.filter { $0.0 == "x" }.count
        if seed % 3 == 2 {  // two stretches of "x" deleted: blocks rewritten, a gap in the buckets
            for _ in 0..<2 {
                let from = base + Int64(rng.next() % 60) * 3_600_000, to = from + Int64(1 + rng.next() % 5) * 3_600_000
                count -= try db.write { tx in try tx.delete(from: "t", symbols: ["x"], from: from, to: to) }
            }
        }
        return (db, count)
    }

    /// Streamed against the same query over ranges of 50 buckets (too few groups to stream), joined.
    @Test(arguments: 0..<6)
    func aSymbolsGroupsComeOutAsTheOnesOfItsRanges(seed: UInt64) throws {
        let dir = TempDir("strata-streamed")
        defer { dir.cleanup() }
        let base: Int64 = 1_700_000_000_000 + Int64(seed) * 86_400_000
        let (db, _) = try Self.makeDatabase(dir.path, seed: seed, base: base)
        defer { db.close() }
        let snap = try db.snapshot()
        let aggregates = [
            "count(*), count(p), sum(v), min(v), max(p), first(p), last(s), min(s), max(s), median(v)",
            "count(*), sum(v), min(v), max(v), first(v), last(v)",  // blocks inside a bucket: from their statistics
        ]
        for (width, step) in [("1m", Int64(60_000)), ("7m", 420_000), ("20m", 1_200_000)] {
            for (zone, offset) in [("", Int64(0)), (" ALIGN TO CALENDAR TIME ZONE 'Asia/Shanghai'", 28_800_000)] {
                for (a, list) in aggregates.enumerated() {
                    for key in ["ts", "symbol, ts"] {
                        let head = "SELECT \(key), \(list) FROM t WHERE symbol = 'x'"
                        let whole = try snap.query("\(head) SAMPLE BY \(width)\(zone)")
                        var joined: [[ResultValue]] = []
                        var lo = floorDiv(base + offset, step) * step - offset
                        while lo < base + 4_000 * 180_000 {
                            let hi = lo + 50 * step
                            joined += Self.rows(try snap.query("\(head) AND ts >= \(lo) AND ts < \(hi) SAMPLE BY \(width)\(zone)"))
                            lo = hi
                        }
                        let what = "seed \(seed) \(width)\(zone) aggregates \(a) key \(key)"
                        #expect(Self.difference(Self.rows(whole), joined) == nil, "\(what): \(Self.difference(Self.rows(whole), joined) ?? "")")
                        #expect(whole.rowCount > 100, "too few groups to stream: \(whole.rowCount)")
                        // In small batches, the same rows.
                        var batched: [[ResultValue]] = []
                        try snap.query(try SQLParser.parse("\(head) SAMPLE BY \(width)\(zone)"), batchRows: 37) { (b) throws(StrataError) in
                            batched += Self.rows(b)
                        }
                        #expect(Self.difference(batched, joined) == nil, "\(what), in batches: \(Self.difference(batched, joined) ?? "")")
                    }
                }
            }
        }
    }

    /// A window over a streamed resampling sees its groups as one run of rows: lag crosses the
    /// points where groups were handed out, in a subquery and in a query of its own.
    @Test func windowsRunOverTheGroupsWhole() throws {
        let dir = TempDir("strata-streamed-window")
        defer { dir.cleanup() }
        let (db, _) = try Self.makeDatabase(dir.path, seed: 7, base: 1_700_000_000_000)
        defer { db.close() }
        let snap = try db.snapshot()
        let plain = try snap.query("SELECT ts, count(*) FROM t WHERE symbol = 'x' SAMPLE BY 1m")
        for sql in [
            "SELECT ts, n, lag(n) OVER (ORDER BY ts) FROM (SELECT ts, count(*) AS n, sum(v), min(s), max(p) FROM t WHERE symbol = 'x' SAMPLE BY 1m)",
            "SELECT ts, count(*), lag(count(*)) OVER (ORDER BY ts), sum(v), min(s), max(p) FROM t WHERE symbol = 'x' SAMPLE BY 1m",
        ] {
            let r = try snap.query(sql)
            #expect(r.rowCount > 1_000, "\(sql)")
            var broken = 0
            for k in 0..<r.rowCount where r[k, 2] != (k == 0 ? .null : r[k - 1, 1]) { broken += 1 }
            #expect(broken == 0, "\(sql): \(broken) rows whose lag is not the row before's count")
            let same = r.rowCount == plain.rowCount && (0..<r.rowCount).allSatisfy { r[$0, 0] == plain[$0, 0] && r[$0, 1] == plain[$0, 1] }
            #expect(same, "\(sql): its groups are not the resampling's")
        }
    }

    /// Across New York's clocks going back an hour, an hour's bucket comes round again: its rows
    /// are one group, so no group may be handed out before the scan has passed the change.
    @Test(arguments: 0..<6)
    func aBucketThatComesRoundAgainIsOneGroup(seed: UInt64) throws {
        let dir = TempDir("strata-streamed-dst")
        defer { dir.cleanup() }
        let base: Int64 = 1_730_613_600_000 - 40 * 3_600_000  // 40 hours before 2024-11-03 06:00 UTC
        let (db, count) = try Self.makeDatabase(dir.path, seed: seed, base: base)
        defer { db.close() }
        // Ten aggregates: a table finishes its groups every hundred or so, often between the hour's
        // two passes.
        for width in ["1m", "2m", "3m"] {
            let r = try db.snapshot().query(
                "SELECT ts, count(*), count(p), sum(v), min(v), max(p), first(p), last(s), min(s), max(s), median(v) FROM t "
                    + "WHERE symbol = 'x' SAMPLE BY \(width) ALIGN TO CALENDAR TIME ZONE 'America/New_York'")
            var total: Int64 = 0, previous = Int64.min, increasing = true
            for k in 0..<r.rowCount {
                guard case .int(let ts) = r[k, 0], case .int(let n) = r[k, 1] else { Issue.record("row \(k)"); return }
                if ts <= previous { increasing = false }
                previous = ts
                total += n
            }
            #expect(increasing, "\(width): a bucket came out twice or out of order")
            #expect(total == Int64(count), "\(width)")
            #expect(r.rowCount > 100)
        }
    }
}
