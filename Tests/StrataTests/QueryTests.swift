import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// Every query form against a plain-Swift reference over the same rows: random data (ties, single-row
/// symbols, pre-1970 times, NaN, -0.0, tiny blocks so ranges start and end inside blocks and on their
/// edges), random ranges and filters, SAMPLE BY with time zones, LATEST ON, ASOF JOIN, subqueries.
@Suite struct QueryTests {
    struct Row {
        var symbol: String
        var ts: Int64
        var i: Int64  // column "v" (int64)
        var f: Double  // column "p" (float64)
    }

    struct Fixture {
        var rows: [Row] = []  // bars, in symbol (UTF-8) then insertion order
        var right: [Row] = []  // "daily" table for the join: ts, i as "shares", f as "aum"
        var snap: Snapshot
        var db: Database
        var times: [Int64] = []
    }

    static let symbols = ["000001", "01", "1", "159363", "a", "b"]

    /// `base` moves every time (default: around 1970, negative times included).
    static func makeFixture(seed: UInt64, path: String, base: Int64 = 0) throws -> Fixture {
        var rng = SplitMix(seed: seed)
        let db = try Database.open(path, options: DatabaseOptions(blockRows: [1, 5, 16, 64][Int(seed % 4)]))
        var rows: [Row] = [], right: [Row] = []
        try db.write { tx in
            try tx.createTable("bars", schema: Schema(columns: [Column("v", .int64), Column("p", .float64)]))
            try tx.createTable("daily", schema: Schema(columns: [Column("shares", .int64), Column("aum", .float64)]))
            for (k, s) in symbols.enumerated() {
                let n = k == 4 ? 1 : Int(rng.next() % 120)  // "a" has a single row
                // Around `base`: within 100 hours either side, or from up to 24 hours before a time set on
                // a DST change, so that most symbols' rows run across it.
                var t = base == 0 ? (Int64(rng.next() % 200) - 100) * 3_600_000 : base - Int64(rng.next() % 24) * 3_600_000
                for _ in 0..<n {
                    // 15-minute steps and ties; every other four seeds mostly regular (sessions with a
                    // gap now and then), so that blocks store their times as runs.
                    let regular = seed % 8 >= 4 && rng.next() % 24 != 0
                    t += regular ? 900_000 : Int64(rng.next() % 4) * 900_000
                    let f: Double
                    switch rng.next() % 12 {
                    case 0: f = .nan
                    case 1: f = -0.0
                    case 2: f = 0.0
                    default: f = Double(Int64(rng.next() % 20_000) - 10_000) / 100
                    }
                    let row = Row(symbol: s, ts: t, i: Int64(rng.next() % 2000) - 1000, f: f)
                    rows.append(row)
                    try tx.append(to: "bars", symbol: s, time: t, values: [.int64(row.i), .float64(row.f)])
                }
                if k % 3 != 2 {
                    var d = base + (Int64(rng.next() % 200) - 110) * 3_600_000
                    for _ in 0..<Int(rng.next() % 12) {
                        d += Int64(rng.next() % 3) * 86_400_000 / 4
                        let r = Row(symbol: s, ts: d, i: Int64(rng.next() % 100) * 1000, f: Double(rng.next() % 10_000) / 100)
                        right.append(r)
                        try tx.append(to: "daily", symbol: s, time: d, values: [.int64(r.i), .float64(r.f)])
                    }
                }
            }
        }
        rows.sort { $0.symbol != $1.symbol ? utf8Less($0.symbol, $1.symbol) : false }
        right.sort { $0.symbol != $1.symbol ? utf8Less($0.symbol, $1.symbol) : false }
        let snap = try db.snapshot()
        return Fixture(rows: rows, right: right, snap: snap, db: db, times: rows.map(\.ts))
    }

    // MARK: Reference aggregates

    static func close(_ a: Double, _ b: Double, scale: Double) -> Bool {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
        if a.isInfinite || b.isInfinite { return a == b }
        return abs(a - b) <= 1e-9 * max(scale, 1)
    }

    static func expect(_ got: ResultValue, _ want: ResultValue, scale: Double = 1, _ what: @autoclosure () -> String) {
        switch (got, want) {
        case (.float(let a), .float(let b)):
            #expect(close(a, b, scale: scale), "\(what()): got \(a), want \(b)")
        default:
            #expect(got == want, "\(what()): got \(got), want \(want)")
        }
    }

    /// (value, scale for float tolerance) of aggregate `f` over rows (in time order per symbol, symbols in order).
    static func reference(_ f: String, _ rows: [Row], float: Bool) -> (ResultValue, Double) {
        let scale = rows.reduce(0.0) { $0 + (float ? ($1.f.isFinite ? abs($1.f) : 0) : Double(abs($1.i))) }
        switch f {
        case "count": return (.int(Int64(rows.count)), 1)
        case "sum":
            if rows.isEmpty { return (.null, 1) }
            return float ? (.float(rows.reduce(0.0) { $0 + $1.f }), scale) : (.int(rows.reduce(0) { $0 + $1.i }), 1)
        case "avg":
            if rows.isEmpty { return (.null, 1) }
            let s = float ? rows.reduce(0.0) { $0 + $1.f } : Double(rows.reduce(0) { $0 + $1.i })
            return (.float(s / Double(rows.count)), scale / Double(rows.count))
        case "min", "max":
            if rows.isEmpty { return (.null, 1) }
            if !float { return (.int(f == "min" ? rows.map(\.i).min()! : rows.map(\.i).max()!), 1) }
            var best = Double.nan
            for r in rows where !r.f.isNaN {
                if best.isNaN || (f == "min" ? ColumnStats.totalLess(r.f, best) : ColumnStats.totalLess(best, r.f)) { best = r.f }
            }
            return (.float(best), 1)
        case "first", "last":
            if rows.isEmpty { return (.null, 1) }
            var pick = rows[0]
            for r in rows.dropFirst() where f == "first" ? r.ts < pick.ts : r.ts >= pick.ts { pick = r }
            return (float ? .float(pick.f) : .int(pick.i), 1)
        default: preconditionFailure()
        }
    }

    static func bits(_ v: ResultValue) -> ResultValue {
        if case .float(let d) = v { return d.isNaN ? .string("NaN") : .int(Int64(bitPattern: d.bitPattern)) }
        return v
    }

    // MARK: Tests

    @Test(arguments: 0..<16)
    func aggregatesRangesAndFilters(seed: UInt64) throws {
        let dir = TempDir("strata-query")
        defer { dir.cleanup() }
        let fx = try Self.makeFixture(seed: seed, path: dir.path)
        if seed % 8 >= 4 && seed % 4 >= 2 {  // mostly regular times in blocks of 16 or 64 rows: some are runs
            let layouts = try fx.snap.info("bars").columns[0].encodings
            #expect(layouts.keys.contains { $0.hasPrefix("runs") }, "time column encodings: \(layouts)")
        }
        var rng = SplitMix(seed: seed &* 31 &+ 7)
        let sorted = fx.times.sorted()
        for _ in 0..<12 {
            // Range ends on existing times (block edges included), between them, or open.
            func pick() -> Int64 {
                if sorted.isEmpty || rng.next() % 5 == 0 { return Int64(rng.next() % 400_000_000) - 300_000_000 }
                return sorted[Int(rng.next() % UInt64(sorted.count))] + (rng.next() % 3 == 0 ? 1 : 0)
            }
            let (a, b) = { let x = pick(), y = pick(); return (min(x, y), max(x, y)) }()
            let symbol: String? = rng.next() % 3 == 0 ? nil : (Self.symbols + ["missing"])[Int(rng.next() % 7)]
            let filter: Double? = rng.next() % 3 == 0 ? Double(Int64(rng.next() % 100) - 50) : nil
            var conds: [String] = ["ts >= \(a)", "ts < \(b)"]
            if let symbol { conds.append("symbol = '\(symbol)'") }
            if let filter { conds.append("p > \(filter)") }
            let whereSQL = conds.joined(separator: " AND ")
            let expected = fx.rows.filter { r in
                r.ts >= a && r.ts < b && (symbol == nil || r.symbol == symbol) && (filter == nil || r.f > filter!)
            }
            let fns = ["count", "sum", "avg", "min", "max", "first", "last"]
            let items = fns.flatMap { f in f == "count" ? ["count(*)", "count(v)"] : ["\(f)(v)", "\(f)(p)"] }
            let r = try fx.snap.query("SELECT \(items.joined(separator: ", ")) FROM bars WHERE \(whereSQL)")
            #expect(r.rowCount == 1)
            var c = 0
            for f in fns {
                for float in f == "count" ? [false, false] : [false, true] {
                    let (want, scale) = Self.reference(f, expected, float: float)
                    let got = r[0, c]
                    if ["min", "max", "first", "last"].contains(f) {
                        #expect(Self.bits(got) == Self.bits(want), "\(items[c]) where \(whereSQL): got \(got), want \(want)")
                    } else {
                        Self.expect(got, want, scale: scale, "\(items[c]) where \(whereSQL)")
                    }
                    c += 1
                }
            }
            // GROUP BY symbol: one row per symbol with rows, in symbol order.
            let g = try fx.snap.query("SELECT symbol, count(*) AS n, sum(v), last(p) FROM bars WHERE \(whereSQL) GROUP BY symbol")
            let groups = Dictionary(grouping: expected, by: \.symbol)
            let names = groups.keys.sorted(by: utf8Less)
            #expect(g.rowCount == names.count, "groups where \(whereSQL)")
            for (k, name) in names.enumerated() where k < g.rowCount {
                #expect(g[k, 0] == .string(name))
                #expect(g[k, 1] == .int(Int64(groups[name]!.count)))
                #expect(g[k, 2] == Self.reference("sum", groups[name]!, float: false).0)
                #expect(Self.bits(g[k, 3]) == Self.bits(Self.reference("last", groups[name]!, float: true).0))
            }
            // Row scan, ordered by symbol then time (insertion order for ties).
            let rows = try fx.snap.query("SELECT symbol, ts, v, p FROM bars WHERE \(whereSQL)")
            #expect(rows.rowCount == expected.count, "rows where \(whereSQL)")
            for (k, e) in expected.enumerated() where k < rows.rowCount {
                #expect(rows[k, 0] == .string(e.symbol) && rows[k, 1] == .int(e.ts) && rows[k, 2] == .int(e.i))
                #expect(Self.bits(rows[k, 3]) == Self.bits(.float(e.f)))
            }
        }
        fx.db.close()
    }

    /// Days around 1970, and the DST changes of 2024 in New York (spring, autumn) and London (spring):
    /// 15-minute rows across the gap and the overlap, cut into 1h, 1d, 45m and 30m buckets.
    static let sampleBases: [Int64] = [0, 1_710_054_000_000, 1_730_613_600_000, 1_711_846_800_000]

    @Test(arguments: 0..<12)
    func sampleByWithTimeZones(seed: UInt64) throws {
        let dir = TempDir("strata-sample")
        defer { dir.cleanup() }
        let fx = try Self.makeFixture(seed: seed, path: dir.path, base: Self.sampleBases[Int(seed % 4)])
        let zones: [String?] = [nil, "Asia/Shanghai", "America/New_York", "Europe/London"]
        for (zi, zone) in zones.enumerated() {
            let tzf = zone.flatMap { TimeZone(identifier: $0) }
            func offset(_ ms: Int64) -> Int64 {
                Int64(tzf?.secondsFromGMT(for: Date(timeIntervalSince1970: Double(floorDiv(ms, 1000)))) ?? 0) * 1000
            }
            // A bucket's time: the first instant (on whole minutes) whose local time is at or after its
            // local start, found by walking Foundation's offsets minute by minute.
            var starts: [Int64: Int64] = [:]
            func start(_ local: Int64) -> Int64 {
                if let s = starts[local] { return s }
                var u = local - 16 * 3_600_000
                while u + offset(u) < local { u += 60_000 }
                starts[local] = u
                return u
            }
            for (width, unit, seconds) in [(1, "h", 3600), (1, "d", 86_400), (45, "m", 2700), (30, "m", 1800)] {
                let tz = zone.map { " ALIGN TO CALENDAR TIME ZONE '\($0)'" } ?? ""
                let r = try fx.snap.query(
                    "SELECT symbol, ts, count(*) AS n, first(p) AS o, max(v) AS h, sum(v) AS s FROM bars SAMPLE BY \(width)\(unit)\(tz)")
                // Reference: rows grouped by symbol and local bucket start (clocks going back bring a
                // bucket round again), in symbol then bucket order.
                let step = Int64(seconds) * 1000
                var groups: [String: [Int64: [Row]]] = [:]
                for row in fx.rows {
                    let local = floorDiv(row.ts + offset(row.ts), step) * step
                    groups[row.symbol, default: [:]][local, default: []].append(row)
                }
                var want: [(String, Int64, [Row])] = []
                for symbol in groups.keys.sorted(by: utf8Less) {
                    for (local, rows) in groups[symbol]!.sorted(by: { $0.key < $1.key }) {
                        want.append((symbol, zone == nil ? local : start(local), rows))
                    }
                }
                #expect(r.rowCount == want.count, "zone \(zi) \(width)\(unit)")
                for (k, w) in want.enumerated() where k < r.rowCount {
                    #expect(r[k, 0] == .string(w.0) && r[k, 1] == .int(w.1), "zone \(zone ?? "UTC") \(width)\(unit) row \(k): got \(r[k, 0]) \(r[k, 1]), want \(w.0) \(w.1)")
                    #expect(r[k, 2] == .int(Int64(w.2.count)))
                    #expect(Self.bits(r[k, 3]) == Self.bits(.float(w.2[0].f)))
                    #expect(r[k, 4] == .int(w.2.map(\.i).max()!))
                    #expect(r[k, 5] == .int(w.2.reduce(0) { $0 + $1.i }))
                }
            }
        }
        fx.db.close()
    }

    @Test(arguments: 0..<8)
    func latestOnAndAsofJoin(seed: UInt64) throws {
        let dir = TempDir("strata-latest")
        defer { dir.cleanup() }
        let fx = try Self.makeFixture(seed: seed, path: dir.path)
        var rng = SplitMix(seed: seed &+ 1234)
        for _ in 0..<8 {
            let t = fx.times.isEmpty ? 0 : fx.times[Int(rng.next() % UInt64(fx.times.count))] + Int64(rng.next() % 3) - 1
            let filtered = rng.next() % 2 == 0
            let r = try fx.snap.query(
                "SELECT symbol, ts, v, p FROM bars WHERE ts <= \(t)\(filtered ? " AND v > 0" : "") LATEST ON ts PARTITION BY symbol")
            var want: [Row] = []
            for s in Self.symbols {
                if let last = fx.rows.last(where: { $0.symbol == s && $0.ts <= t && (!filtered || $0.i > 0) }) { want.append(last) }
            }
            #expect(r.rowCount == want.count, "latest at \(t)")
            for (k, w) in want.enumerated() where k < r.rowCount {
                #expect(r[k, 0] == .string(w.symbol) && r[k, 1] == .int(w.ts) && r[k, 2] == .int(w.i), "latest at \(t): row \(k)")
                #expect(Self.bits(r[k, 3]) == Self.bits(.float(w.f)))
            }
        }
        // ASOF JOIN: per bar, the daily row of the same symbol with the largest ts not after the bar's.
        for symbol in Self.symbols {
            let r = try fx.snap.query(
                "SELECT count(*) AS n, count(f.shares) AS matched, sum(b.v * f.shares) AS x, sum(b.p * f.aum) AS y FROM bars b ASOF JOIN daily f ON (symbol) WHERE b.symbol = '\(symbol)'")
            let bars = fx.rows.filter { $0.symbol == symbol }
            let daily = fx.right.filter { $0.symbol == symbol }
            var matched: Int64 = 0, x: Int64 = 0, y = 0.0, scale = 0.0
            for b in bars {
                guard let d = daily.last(where: { $0.ts <= b.ts }) else { continue }
                matched += 1
                x += b.i * d.i
                y += b.f * d.f
                scale += abs(b.f.isFinite ? b.f * d.f : 0)
            }
            #expect(r[0, 0] == .int(Int64(bars.count)), "asof \(symbol)")
            #expect(r[0, 1] == .int(matched), "asof \(symbol)")
            #expect(r[0, 2] == (matched == 0 ? .null : .int(x)), "asof \(symbol)")
            Self.expect(r[0, 3], matched == 0 ? .null : .float(y), scale: scale, "asof \(symbol)")
            // Row form: nulls where no daily row precedes the bar.
            let rows = try fx.snap.query("SELECT b.ts, f.ts, f.shares FROM bars b ASOF JOIN daily f ON (symbol) WHERE b.symbol = '\(symbol)'")
            #expect(rows.rowCount == bars.count)
            for (k, b) in bars.enumerated() where k < rows.rowCount {
                let d = daily.last(where: { $0.ts <= b.ts })
                #expect(rows[k, 1] == (d.map { .int($0.ts) } ?? .null) && rows[k, 2] == (d.map { .int($0.i) } ?? .null))
            }
            // Joined columns read only in the condition, or not at all (they are not gathered).
            let cut = daily.map(\.i).sorted().dropFirst(daily.count / 2).first ?? 0
            let filtered = try fx.snap.query(
                "SELECT count(*), sum(b.v) FROM bars b ASOF JOIN daily f ON (symbol) WHERE b.symbol = '\(symbol)' AND f.shares >= \(cut) AND f.ts >= 0")
            let kept = bars.filter { b in daily.last(where: { $0.ts <= b.ts }).map { $0.i >= cut && $0.ts >= 0 } ?? false }
            #expect(filtered[0, 0] == .int(Int64(kept.count)), "asof filter \(symbol)")
            #expect(filtered[0, 1] == (kept.isEmpty ? .null : .int(kept.reduce(0) { $0 + $1.i })), "asof filter \(symbol)")
            let none = try fx.snap.query("SELECT count(*) FROM bars b ASOF JOIN daily f ON (symbol) WHERE b.symbol = '\(symbol)'")
            #expect(none[0, 0] == .int(Int64(bars.count)), "asof no right column \(symbol)")
        }
        fx.db.close()
    }

    /// Symbols on one calendar have blocks whose time chunks are byte for byte the same (a scan
    /// keeps the times decoded for one block for the next such block); others run on a shifted
    /// calendar, from a later day, with a gap of their own, or with a session late in the middle
    /// of a block. Latest rows at many times, and windows' first/last/count per symbol, against
    /// the rows.
    @Test(arguments: 0..<6)
    func symbolsSharingACalendar(seed: UInt64) throws {
        struct Bar {
            var ts: Int64
            var v: Int64
        }
        let dir = TempDir("strata-calendar")
        defer { dir.cleanup() }
        var rng = SplitMix(seed: seed)
        let db = try Database.open(dir.path, options: DatabaseOptions(blockRows: [48, 64, 100][Int(seed % 3)], autoCompaction: .off))
        // Sessions of 40 one-minute bars, a session a day.
        let calendar: [Int64] = (0..<300).map { (i: Int) -> Int64 in Int64(i / 40) * 86_400_000 + Int64(i % 40) * 60_000 }
        var rows: [String: [Bar]] = [:]
        try db.write { tx in
            try tx.createTable("bars", schema: Schema(columns: [Column("v", .int64)]))
            for k in 0..<8 {
                let s = "s" + String(k)
                var times = calendar
                switch k {
                case 5: times = times.map { $0 + 60_000 }  // shifted by a minute
                case 6: times = Array(times.dropFirst(80))  // listed two days later
                case 7: times.removeSubrange(100..<110)  // a halt
                case 2: for i in 120..<160 { times[i] += 30_000 }  // a session half a minute late: same rows, runs, first and last
                default: break
                }
                for t in times {
                    let bar = Bar(ts: t, v: Int64(rng.next() % 10_000) - 5_000)
                    rows[s, default: []].append(bar)
                    try tx.append(to: "bars", symbol: s, time: t, values: [.int64(bar.v)])
                }
            }
        }
        let snap = try db.snapshot()
        let symbols = rows.keys.sorted()
        for _ in 0..<40 {
            let jitter = Int64(rng.next() % 3) * 30_000 - 30_000
            let t: Int64 = calendar[Int(rng.next() % UInt64(calendar.count))] + jitter
            let r = try snap.query("SELECT symbol, ts, v FROM bars WHERE ts <= \(t) LATEST ON ts PARTITION BY symbol")
            let want: [(String, Bar)] = symbols.compactMap { s in rows[s]!.last(where: { $0.ts <= t }).map { (s, $0) } }
            #expect(r.rowCount == want.count, "latest at \(t)")
            for (k, w) in want.enumerated() where k < r.rowCount {
                let (s, bar) = w
                #expect(r[k, 0] == .string(s) && r[k, 1] == .int(bar.ts) && r[k, 2] == .int(bar.v), "latest at \(t), \(s)")
            }
            let back = Int64(rng.next() % 3) * 86_400_000 + Int64(rng.next() % 40) * 60_000
            let lo: Int64 = t - back
            let g = try snap.query("SELECT symbol, first(v), last(v), count(*) FROM bars WHERE ts >= \(lo) AND ts <= \(t) GROUP BY symbol")
            var groups: [(String, [Bar])] = []
            for s in symbols {
                let inside = rows[s]!.filter { $0.ts >= lo && $0.ts <= t }
                if !inside.isEmpty { groups.append((s, inside)) }
            }
            #expect(g.rowCount == groups.count, "window \(lo)...\(t)")
            for (k, w) in groups.enumerated() where k < g.rowCount {
                let (s, bars) = w
                #expect(g[k, 0] == .string(s) && g[k, 1] == .int(bars[0].v) && g[k, 2] == .int(bars[bars.count - 1].v), "window of \(s)")
                #expect(g[k, 3] == .int(Int64(bars.count)), "window of \(s)")
            }
        }
        db.close()
    }

    @Test func fillOrderLimitAndSubquery() throws {
        let dir = TempDir("strata-fill")
        defer { dir.cleanup() }
        let db = try Database.open(dir.path)
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("v", .int64), Column("p", .float64)]))
            for (t, v) in [(0, 10), (1, 20), (4, 50)] { try tx.append(to: "t", symbol: "s", time: Int64(t) * 3_600_000, values: [.int64(Int64(v)), .float64(Double(v))]) }
            try tx.append(to: "t", symbol: "z", time: 0, values: [.int64(1), .float64(1)])
        }
        let snap = try db.snapshot()
        func column(_ sql: String, _ c: Int) throws -> [ResultValue] {
            let r = try snap.query(sql)
            return (0..<r.rowCount).map { r[$0, c] }
        }
        let base = "SELECT symbol, ts, sum(v) AS v, avg(p) AS p FROM t WHERE symbol = 's' SAMPLE BY 1h"
        #expect(try column(base, 2) == [.int(10), .int(20), .int(50)])
        #expect(try column(base + " FILL(NULL)", 2) == [.int(10), .int(20), .null, .null, .int(50)])
        #expect(try column(base + " FILL(PREV)", 2) == [.int(10), .int(20), .int(20), .int(20), .int(50)])
        #expect(try column(base + " FILL(LINEAR)", 3) == [.float(10), .float(20), .float(30), .float(40), .float(50)])
        #expect(try column(base + " FILL(0)", 1) == [0, 1, 2, 3, 4].map { .int(Int64($0) * 3_600_000) })
        #expect(try column(base + " FILL(NULL, 7)", 3) == [.float(10), .float(20), .float(7), .float(7), .float(50)])
        #expect(try column("SELECT v FROM t ORDER BY v DESC LIMIT 2", 0) == [.int(50), .int(20)])
        #expect(try column("SELECT symbol, ts FROM t ORDER BY ts DESC, symbol LIMIT 3", 0) == [.string("s"), .string("s"), .string("s")])
        #expect(try column("SELECT * FROM (SELECT symbol, sum(v) AS total FROM t) WHERE total > 5", 0) == [.string("s")])
        #expect(try column("SELECT symbol, total * 2 FROM (SELECT symbol, sum(v) AS total FROM t) ORDER BY 2", 1) == [.int(2), .int(160)])
        #expect(try column("SELECT count(*) FROM t WHERE ts BETWEEN 3600000 AND '1970-01-01T04:00:00Z'", 0) == [.int(2)])
        #expect(try column("SELECT sum(v) FROM t WHERE symbol = 'nope'", 0) == [.null])
        #expect(try column("SELECT count(*) FROM t WHERE symbol = 'nope'", 0) == [.int(0)])
        #expect(try column("SELECT symbol, count(*) FROM t WHERE ts > 99999999999 GROUP BY symbol", 0) == [])
        // The typed API runs the same plan.
        let typed = try snap.query(Query([SelectItem(.sum(.col("v")), as: "v"), SelectItem(.vwap(.col("p"), .col("v")))], from: "t", where: [.symbol("s")]))
        #expect(typed.names == ["v", "vwap(p, v)"])
        #expect(typed[0, 0] == .int(80))
        Self.expect(typed[0, 1], .float((100.0 + 400 + 2500) / 80), "vwap")
        db.close()
    }

    /// Many groups over many symbols (a share of the worker pool finishes its groups a few thousand
    /// at a time): every group once, in symbol then time order, with its sum and count.
    @Test func manyGroupsBySymbolComeOutWholeAndInOrder() throws {
        let dir = TempDir("strata-groups")
        defer { dir.cleanup() }
        let db = try Database.open(dir.path, options: DatabaseOptions(autoCompaction: .off))
        var rng = SplitMix(seed: 9)
        var expected: [String: [Int64: (sum: Int64, count: Int64)]] = [:]
        let symbols = (0..<21).map { String(format: "S%02d", ($0 * 7) % 21) }  // appended out of name order
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("v", .int64)]))
            for s in symbols {
                var time: Int64 = 0
                for _ in 0..<3_000 {
                    time += Int64(1 + rng.next() % 3) * 1_000
                    let v = Int64(rng.next() % 1_000)
                    try tx.append(to: "t", symbol: s, time: time, values: [.int64(v)])
                    let bucket = time - time % 2_000
                    let old = expected[s, default: [:]][bucket] ?? (0, 0)
                    expected[s, default: [:]][bucket] = (old.sum + v, old.count + 1)
                }
            }
        }
        let r = try db.snapshot().query("SELECT symbol, ts, sum(v), count(*) FROM t SAMPLE BY 2s")
        var rows: [(String, Int64, Int64, Int64)] = []
        for i in 0..<r.rowCount {
            guard case .string(let s) = r[i, 0], case .int(let t) = r[i, 1], case .int(let sum) = r[i, 2], case .int(let n) = r[i, 3] else {
                Issue.record("row \(i) has unexpected values")
                return
            }
            rows.append((s, t, sum, n))
        }
        let want = expected.keys.sorted().flatMap { s in expected[s]!.keys.sorted().map { (s, $0, expected[s]![$0]!.sum, expected[s]![$0]!.count) } }
        #expect(rows.count == want.count)
        #expect(rows.elementsEqual(want) { $0 == $1 }, "groups differ or are out of order")
        // In batches: the same rows, each batch full but the last, all on the calling thread; a
        // body that throws stops the query with its error, and the next query is whole.
        let caller = pthread_self()
        var batched: [(String, Int64, Int64, Int64)] = []
        var sizes: [Int] = []
        var offThread = 0
        try db.snapshot().query(try SQLParser.parse("SELECT symbol, ts, sum(v), count(*) FROM t SAMPLE BY 2s"), batchRows: 1_000) { (b) throws(StrataError) in
            if pthread_equal(pthread_self(), caller) == 0 { offThread += 1 }
            sizes.append(b.rowCount)
            for i in 0..<b.rowCount {
                if case .string(let s) = b[i, 0], case .int(let t) = b[i, 1], case .int(let sum) = b[i, 2], case .int(let n) = b[i, 3] {
                    batched.append((s, t, sum, n))
                }
            }
        }
        #expect(offThread == 0)
        #expect(batched.elementsEqual(want) { $0 == $1 }, "batched groups differ or are out of order")
        #expect(sizes.dropLast().allSatisfy { $0 == 1_000 } && (sizes.last ?? 0) > 0)
        var calls = 0
        #expect(throws: StrataError.self) {
            try db.snapshot().query(try SQLParser.parse("SELECT symbol, ts, sum(v) FROM t SAMPLE BY 2s"), batchRows: 500) { (_) throws(StrataError) in
                calls += 1
                if calls == 3 { throw StrataError.badInput("the consumer stops") }
            }
        }
        #expect(calls == 3)
        #expect(try db.snapshot().query("SELECT symbol, ts, sum(v), count(*) FROM t SAMPLE BY 2s").rowCount == want.count)
        db.close()
    }

    @Test func errorsNameThePositionOrTheThing() throws {
        let dir = TempDir("strata-qerr")
        defer { dir.cleanup() }
        let db = try Database.open(dir.path)
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("v", .int64)]))
            try tx.append(to: "t", symbol: "s", time: 0, values: [.int64(.max)])
            try tx.append(to: "t", symbol: "s", time: 1, values: [.int64(1)])
        }
        let snap = try db.snapshot()
        let cases: [(String, String)] = [
            ("SELEC v FROM t", "position 1"),
            ("SELECT v FROM", "position 14: expected a table name"),
            ("SELECT v FROM t WHERE", "expected a column"),
            ("SELECT v FROM nope", "no table named nope"),
            ("SELECT nope FROM t", "unknown column nope"),
            ("SELECT mode(v) FROM t", "unknown function mode"),
            ("SELECT lag(v) FROM t", "needs OVER"),
            ("SELECT quantile(v, 2) FROM t", "from 0 to 1"),
            ("SELECT ln('a') FROM t", "needs a number"),
            ("SELECT CASE WHEN v > 'a' THEN 1 END FROM t", "cannot compare text with a number"),
            ("SELECT CASE WHEN v > 1 THEN 'a' ELSE 2 END FROM t", "mixes text and numbers"),
            ("SELECT v FROM t WHERE SESSION 'NOPE' = 'morning'", "unknown trading calendar"),
            ("SELECT v FROM t WHERE v > 1 OR v < 0", "OR"),
            ("SELECT v FROM t WHERE symbol > 'a'", "symbols can be compared"),
            ("SELECT sum(v) FROM t", "overflows"),
            ("SELECT v * 2 FROM t", "integer overflow"),
            ("SELECT v, sum(v) FROM t SAMPLE BY 1M", "months"),
            ("SELECT v FROM t SAMPLE BY 1h ALIGN TO CALENDAR TIME ZONE 'Mars/Base'", "unknown time zone"),
            ("SELECT v FROM t SAMPLE BY 1h ALIGN TO CALENDAR TIME ZONE '../../etc/passwd'", "unknown time zone"),
            ("SELECT v + sum(v) FROM t", "must be aggregated"),
            ("SELECT v FROM t LEFT JOIN t ON (symbol)", "only ASOF JOIN"),
            ("SELECT 'x' FROM t WHERE", "expected a column"),
            ("SELECT v FROM t WHERE ts > 'yesterday'", "yesterday"),
            ("SELECT v FROM t LIMIT -1", "row count"),
            ("SELECT sum(sum(v)) FROM t", "nested"),
            ("SELECT v FROM t WHERE v = 'x'", "number column"),
        ]
        for (sql, fragment) in cases {
            #expect(throws: StrataError.self, "\(sql)") { try snap.query(sql) }
            do {
                _ = try snap.query(sql)
            } catch {
                #expect(error.message.contains(fragment), "\(sql): \(error.message)")
            }
        }
        db.close()
    }
}
