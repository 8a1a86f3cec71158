import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// Window functions, the new aggregates and the scalar functions against a plain reference: random
/// rows with nulls, NaN, ties in time, single-row symbols, tiny blocks (partitions start and end
/// inside blocks), frames larger than the partition; windows recomputed naively row by row.
@Suite struct WindowTests {
    struct Row {
        var symbol: String
        var ts: Int64
        var v: Int64?
        var p: Double?
    }

    static let symbols = ["a", "b", "c", "d1", "single", "zz"]

    static func fixture(seed: UInt64, path: String) throws -> (Database, [Row]) {
        var rng = SplitMix(seed: seed)
        let db = try Database.open(path, options: DatabaseOptions(blockRows: [1, 5, 16, 64][Int(seed % 4)]))
        var rows: [Row] = []
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("v", .int64), Column("p", .float64)]))
            for s in symbols {
                let n = s == "single" ? 1 : Int(rng.next() % 150)
                var t: Int64 = 1_704_159_000_000 + Int64(rng.next() % 1000) * 60_000
                for _ in 0..<n {
                    t += Int64(rng.next() % 3) * 60_000  // one-minute steps and ties
                    let v: Int64? = rng.next() % 10 == 0 ? nil : Int64(rng.next() % 2000) - 1000
                    let p: Double?
                    switch rng.next() % 20 {
                    case 0, 1: p = nil
                    case 2: p = .nan
                    case 3: p = -0.0
                    default: p = Double(Int64(rng.next() % 20_000) - 5_000) / 100
                    }
                    rows.append(Row(symbol: s, ts: t, v: v, p: p))
                    try tx.append(to: "t", symbol: s, time: t, values: [v.map(Value.int64) ?? .null, p.map(Value.float64) ?? .null])
                }
            }
        }
        return (db, rows)
    }

    // MARK: Reference

    /// A frame bound for the reference: ROWS counts positions; RANGE compares times.
    enum Bound { case unbounded, preceding(Int64), current, following(Int64) }

    /// Positions of row i's frame in a partition (times ascending).
    static func frame(_ i: Int, _ times: [Int64], rows: Bool, _ start: Bound, _ end: Bound) -> [Int] {
        let n = times.count
        return (0..<n).filter { j in
            func after(_ b: Bound) -> Bool {  // j at or after the start bound
                switch b {
                case .unbounded: return true
                case .current: return rows ? j >= i : times[j] >= times[i]
                case .preceding(let k): return rows ? j >= i - Int(k) : times[j] >= times[i] - k
                case .following(let k): return rows ? j >= i + Int(k) : times[j] >= times[i] + k
                }
            }
            func before(_ b: Bound) -> Bool {  // j at or before the end bound
                switch b {
                case .unbounded: return true
                case .current: return rows ? j <= i : times[j] <= times[i]
                case .preceding(let k): return rows ? j <= i - Int(k) : times[j] <= times[i] - k
                case .following(let k): return rows ? j <= i + Int(k) : times[j] <= times[i] + k
                }
            }
            return after(start) && before(end)
        }
    }

    static func aggregate(_ f: String, _ values: [Double]) -> ResultValue {
        let n = Double(values.count)
        switch f {
        case "count": return .int(Int64(values.count))
        case "sum": return values.isEmpty ? .null : .float(values.reduce(0, +))
        case "avg": return values.isEmpty ? .null : .float(values.reduce(0, +) / n)
        case "min", "max":
            let numbers = values.filter { !$0.isNaN }
            if numbers.isEmpty { return values.isEmpty ? .null : .float(.nan) }
            return .float(numbers.dropFirst().reduce(numbers[0]) { f == "min" ? (ColumnStats.totalLess($1, $0) ? $1 : $0) : (ColumnStats.totalLess($0, $1) ? $1 : $0) })
        default:
            let population = f.hasSuffix("_pop")
            if values.count < (population ? 1 : 2) { return .null }
            let mean = values.reduce(0, +) / n
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (population ? n : n - 1)
            return .float(f.hasPrefix("var") ? variance : variance.squareRoot())
        }
    }

    static func close(_ got: ResultValue, _ want: ResultValue, scale: Double) -> Bool {
        switch (got, want) {
        case (.float(let a), .float(let b)):
            if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
            return abs(a - b) <= 1e-9 * max(scale, 1)
        case (.int(let a), .float(let b)): return Double(a) == b
        default: return got == want
        }
    }

    // MARK: Windows

    @Test(arguments: 0..<8)
    func windowsMatchANaiveRecomputation(seed: UInt64) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let (db, rows) = try Self.fixture(seed: seed, path: dir.sub("db"))
        var rng = SplitMix(seed: seed &* 77 &+ 1)
        let k = Int64(rng.next() % 30), m = Int64(rng.next() % 4), big = Int64(150 + rng.next() % 100)
        let minutes = Int64(1 + rng.next() % 6)
        let frames: [(sql: String, rows: Bool, start: Bound, end: Bound)] = [
            ("ROWS \(k) PRECEDING", true, .preceding(k), .current),
            ("ROWS BETWEEN \(k) PRECEDING AND \(m) FOLLOWING", true, .preceding(k), .following(m)),
            ("ROWS BETWEEN UNBOUNDED PRECEDING AND \(m) PRECEDING", true, .unbounded, .preceding(m)),
            ("ROWS \(big) PRECEDING", true, .preceding(big), .current),
            ("RANGE '\(minutes)m' PRECEDING", false, .preceding(minutes * 60_000), .current),
            ("RANGE BETWEEN \(minutes) MINUTES PRECEDING AND '1m' FOLLOWING", false, .preceding(minutes * 60_000), .following(60_000)),
            ("RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING", false, .current, .unbounded),
            ("", false, .unbounded, .current),  // the default with ORDER BY: peers included
        ]
        let functions = ["count", "sum", "avg", "min", "max", "stddev", "var_pop"]
        let source = seed % 2 == 0 ? "t" : "(SELECT symbol, ts, v, p FROM t)"  // streamed, or collected and sorted
        for (frameSQL, isRows, start, end) in frames {
            var items: [String] = []
            for f in functions { for c in ["v", "p"] { items.append("\(f)(\(c)) OVER (w \(frameSQL))") } }
            items += ["count(*) OVER (w \(frameSQL))", "first_value(p) OVER (w \(frameSQL))", "last_value(v) OVER (w \(frameSQL))"]
            let sql = "SELECT symbol, ts, \(items.joined(separator: ", ")) FROM \(source) WINDOW w AS (PARTITION BY symbol ORDER BY ts)"
            let r = try db.snapshot().query(sql)
            #expect(r.rowCount == rows.count, "\(sql)")
            var at = 0
            for s in Self.symbols {
                let part = rows.filter { $0.symbol == s }
                let times = part.map(\.ts)
                for i in part.indices {
                    let positions = Self.frame(i, times, rows: isRows, start, end)
                    var col = 2
                    for f in functions {
                        for c in ["v", "p"] {
                            let values = positions.compactMap { c == "v" ? part[$0].v.map(Double.init) : part[$0].p }
                            var want = Self.aggregate(f, values)
                            if c == "v", f == "sum" || f == "min" || f == "max", case .float(let d) = want { want = .int(Int64(d)) }
                            let scale = values.reduce(0) { $0 + ($1.isFinite ? abs($1) : 0) } * (f.hasPrefix("var") ? 10_000 : 1)
                            #expect(Self.close(r[at, col], want, scale: scale), "\(sql)\n\(s) row \(i) \(f)(\(c)): got \(r[at, col]), want \(want)")
                            col += 1
                        }
                    }
                    #expect(r[at, col] == .int(Int64(positions.count)), "count(*) \(frameSQL) \(s) row \(i)")
                    let first: ResultValue = positions.first.map { j in part[j].p.map { .float($0) } ?? .null } ?? .null
                    let last: ResultValue = positions.last.map { j in part[j].v.map { .int($0) } ?? .null } ?? .null
                    #expect(ResultValue.sameBits(r[at, col + 1], first), "first_value \(frameSQL) \(s) row \(i): \(r[at, col + 1]) \(first)")
                    #expect(r[at, col + 2] == last, "last_value \(frameSQL) \(s) row \(i)")
                    at += 1
                }
            }
        }
        try db.close()
    }

    @Test(arguments: 0..<4)
    func lagLeadRowNumberAndEma(seed: UInt64) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let (db, rows) = try Self.fixture(seed: seed, path: dir.sub("db"))
        let sql = """
            SELECT symbol, ts, lag(p) OVER w, lead(v, 2) OVER w, lag(v, 3, -1) OVER w, row_number() OVER w, ema(p, 0.25) OVER w, ema(v, 9) OVER w
            FROM t WINDOW w AS (PARTITION BY symbol ORDER BY ts)
            """
        let r = try db.snapshot().query(sql)
        var at = 0
        for s in Self.symbols {
            let part = rows.filter { $0.symbol == s }
            var emaP: Double? = nil, emaV: Double? = nil
            for i in part.indices {
                let lagP: ResultValue = i >= 1 ? (part[i - 1].p.map { .float($0) } ?? .null) : .null
                let leadV: ResultValue = i + 2 < part.count ? (part[i + 2].v.map { .int($0) } ?? .null) : .null
                let lag3: ResultValue = i >= 3 ? (part[i - 3].v.map { .int($0) } ?? .null) : .int(-1)
                if let p = part[i].p { emaP = emaP.map { 0.25 * p + 0.75 * $0 } ?? p }
                if let v = part[i].v { emaV = emaV.map { 0.2 * Double(v) + 0.8 * $0 } ?? Double(v) }
                #expect(ResultValue.sameBits(r[at, 2], lagP), "lag \(s) \(i)")
                #expect(r[at, 3] == leadV, "lead \(s) \(i)")
                #expect(r[at, 4] == lag3, "lag 3 \(s) \(i)")
                #expect(r[at, 5] == .int(Int64(i + 1)), "row_number \(s) \(i)")
                #expect(Self.close(r[at, 6], emaP.map { .float($0) } ?? .null, scale: 100), "ema p \(s) \(i): \(r[at, 6]) \(String(describing: emaP))")
                #expect(Self.close(r[at, 7], emaV.map { .float($0) } ?? .null, scale: 1000), "ema v \(s) \(i)")
                at += 1
            }
        }
        #expect(at == r.rowCount)
        try db.close()
    }

    /// Windows over aggregated rows (daily closes), nested windows, ORDER BY and LIMIT after them.
    @Test func windowsOverSubqueriesNestedAndOrdered() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let (db, rows) = try Self.fixture(seed: 3, path: dir.sub("db"))
        let snap = try db.snapshot()
        let r = try snap.query("""
            SELECT symbol, ts, n, n - lag(n) OVER w AS change, avg(n - lag(n) OVER w) OVER (w ROWS 1 PRECEDING) AS smooth
            FROM (SELECT symbol, ts, count(*) AS n FROM t SAMPLE BY 1h) WINDOW w AS (PARTITION BY symbol ORDER BY ts)
            ORDER BY n DESC, symbol, ts LIMIT 7
            """)
        var hourly: [(String, Int64, Int64)] = []
        for s in Self.symbols {
            var counts: [Int64: Int64] = [:]
            for row in rows where row.symbol == s { counts[row.ts / 3_600_000 * 3_600_000, default: 0] += 1 }
            for (h, n) in counts.sorted(by: { $0.key < $1.key }) { hourly.append((s, h, n)) }
        }
        var expected: [[ResultValue]] = []
        for (k, (s, h, n)) in hourly.enumerated() {
            let prev = k > 0 && hourly[k - 1].0 == s ? hourly[k - 1].2 : nil
            let change: ResultValue = prev.map { .int(n - $0) } ?? .null
            let prevChange: Int64? = k > 1 && hourly[k - 2].0 == s ? hourly[k - 1].2 - hourly[k - 2].2 : nil
            let changes = [prevChange, prev.map { n - $0 }].compactMap { $0 }
            let smooth: ResultValue = changes.isEmpty ? .null : .float(Double(changes.reduce(0, +)) / Double(changes.count))
            expected.append([.string(s), .int(h), .int(n), change, smooth])
        }
        expected.sort { a, b in
            if a[2] != b[2] { return Plan.less(b[2], a[2]) }
            if a[0] != b[0] { return Plan.less(a[0], b[0]) }
            return Plan.less(a[1], b[1])
        }
        #expect(r.rows == Array(expected.prefix(7)))
        try db.close()
    }

    /// LATEST ON with aggregates: the aggregates run over the latest row of each symbol.
    @Test(arguments: 0..<3)
    func latestOnWithAggregates(seed: UInt64) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let (db, rows) = try Self.fixture(seed: seed, path: dir.sub("db"))
        let snap = try db.snapshot()
        let cut = rows.map(\.ts).sorted()[rows.count / 2]
        let r = try snap.query("SELECT symbol, last(v), count(*), max(ts) FROM t WHERE ts <= \(cut) LATEST ON ts PARTITION BY symbol")
        var want: [[ResultValue]] = []
        for s in Self.symbols {
            guard let last = rows.filter({ $0.symbol == s && $0.ts <= cut }).last else { continue }
            want.append([.string(s), last.v.map { .int($0) } ?? .null, .int(1), .int(last.ts)])
        }
        #expect(r.rows == want)
        let total = try snap.query("SELECT count(*) AS n, sum(v) FROM t WHERE ts <= \(cut) LATEST ON ts PARTITION BY symbol")
        #expect(total.rows == [[.int(Int64(want.count)), want.compactMap { if case .int(let x) = $0[1] { x } else { nil } }.isEmpty ? .null : .int(want.compactMap { if case .int(let x) = $0[1] { x } else { nil } }.reduce(0, +))]])
        try db.close()
    }

    @Test func windowMistakesAreNamed() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let (db, _) = try Self.fixture(seed: 1, path: dir.sub("db"))
        let snap = try db.snapshot()
        let cases: [(String, String)] = [
            ("SELECT lag(p) OVER x FROM t", "unknown window x"),
            ("SELECT lag(p) OVER (PARTITION BY symbol) FROM t", "needs ORDER BY"),
            ("SELECT avg(p) OVER (PARTITION BY symbol ORDER BY ts), lag(p) OVER (ORDER BY ts) FROM t", "must share"),
            ("SELECT ema(p, 2.5) OVER (PARTITION BY symbol ORDER BY ts) FROM t", "0 < alpha"),
            ("SELECT median(p) OVER (PARTITION BY symbol ORDER BY ts) FROM t", "not supported over a window"),
            ("SELECT avg(p) OVER (PARTITION BY symbol ORDER BY ts ROWS '5m' PRECEDING) FROM t", "counts rows"),
            ("SELECT * , lag(p) OVER (PARTITION BY symbol ORDER BY ts) FROM t", "SELECT *"),
            ("SELECT p FROM t WHERE lag(p) OVER (PARTITION BY symbol ORDER BY ts) > 1", "not allowed here"),
            ("SELECT lag(p, -1) OVER (PARTITION BY symbol ORDER BY ts) FROM t", "offset"),
        ]
        for (sql, fragment) in cases {
            do {
                _ = try snap.query(sql)
                Issue.record("no error for \(sql)")
            } catch {
                #expect("\(error)".contains(fragment), "\(sql): \(error)")
            }
        }
        try db.close()
    }

    // MARK: Aggregates and functions

    @Test(arguments: 0..<6)
    func newAggregatesMatchTheReference(seed: UInt64) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let (db, rows) = try Self.fixture(seed: seed, path: dir.sub("db"))
        let r = try db.snapshot().query("""
            SELECT symbol, stddev(p), stddev_pop(v), variance(v), var_samp(p), median(p), median(v), quantile_cont(p, 0.3),
              quantile_disc(v, 0.7), quantile(p, 0.1), weighted_avg(p, v), twap(p), twap(v)
            FROM t GROUP BY symbol
            """)
        let present = Self.symbols.filter { s in rows.contains { $0.symbol == s } }
        #expect(r.rowCount == present.count)
        for (k, s) in present.enumerated() {
            let part = rows.filter { $0.symbol == s }
            let p = part.compactMap(\.p), v = part.compactMap(\.v).map(Double.init)
            func sortedValues(_ x: [Double]) -> [Double] { x.sorted { $0.isNaN ? false : ($1.isNaN ? true : ColumnStats.totalLess($0, $1)) } }
            func cont(_ x: [Double], _ q: Double) -> ResultValue {
                if x.isEmpty { return .null }
                let s = sortedValues(x), pos = q * Double(s.count - 1), lo = Int(pos.rounded(.down)), hi = Int(pos.rounded(.up))
                return lo == hi ? .float(s[lo]) : .float(s[lo] + (s[hi] - s[lo]) * (pos - Double(lo)))
            }
            func disc(_ x: [Double], _ q: Double) -> Double? {
                x.isEmpty ? nil : sortedValues(x)[max(0, Int((q * Double(x.count)).rounded(.up)) - 1)]
            }
            func twap(_ points: [(Int64, Double)]) -> ResultValue {
                guard let last = points.last else { return .null }
                let span = last.0 - points[0].0
                if span == 0 { return .float(last.1) }
                var area = 0.0
                for j in 1..<points.count { area += points[j - 1].1 * Double(points[j].0 - points[j - 1].0) }
                return .float(area / Double(span))
            }
            let both = part.compactMap { row in row.p.flatMap { p in row.v.map { (p, Double($0)) } } }
            let wsum = both.reduce(0) { $0 + $1.1 }
            let expected: [ResultValue] = [
                Self.aggregate("stddev", p), Self.aggregate("stddev_pop", v), Self.aggregate("variance", v), Self.aggregate("var_samp", p),
                cont(p, 0.5), cont(v, 0.5), cont(p, 0.3), disc(v, 0.7).map { .int(Int64($0)) } ?? .null, disc(p, 0.1).map { .float($0) } ?? .null,
                both.isEmpty || wsum == 0 ? .null : .float(both.reduce(0) { $0 + $1.0 * $1.1 } / wsum),
                twap(part.compactMap { row in row.p.map { (row.ts, $0) } }), twap(part.compactMap { row in row.v.map { (row.ts, Double($0)) } }),
            ]
            #expect(r[k, 0] == .string(s))
            let scale = (p + v).reduce(0) { $0 + ($1.isFinite ? abs($1) : 0) } * 1000
            for (c, want) in expected.enumerated() {
                #expect(Self.close(r[k, c + 1], want, scale: scale), "\(s) column \(c + 1): got \(r[k, c + 1]), want \(want)")
            }
        }
        try db.close()
    }

    @Test(arguments: 0..<3)
    func scalarFunctionsAndCase(seed: UInt64) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let (db, rows) = try Self.fixture(seed: seed, path: dir.sub("db"))
        let r = try db.snapshot().query("""
            SELECT ln(p), exp(p / 1000), abs(v), sqrt(p), round(p, 1), round(v, -2), floor(p), ceil(v), coalesce(v, -7), coalesce(p, v, 0),
              CASE WHEN p > 0 AND v > 0 THEN 'both' WHEN p IS NULL OR NOT (v < 100) THEN NULL ELSE 'other' END,
              CASE v WHEN 1 THEN 10 ELSE v * 2 END, -abs(p)
            FROM t
            """)
        let ordered = Self.symbols.flatMap { s in rows.filter { $0.symbol == s } }
        #expect(r.rowCount == ordered.count)
        func f(_ x: Double?) -> ResultValue { x.map { .float($0) } ?? .null }
        for (k, row) in ordered.enumerated() {
            let p = row.p, v = row.v
            let roundV: Int64? = v.map { x in
                let q = x / 100, rest = x % 100
                return (q + (abs(rest) * 2 >= 100 ? (x < 0 ? -1 : 1) : 0)) * 100
            }
            let caseText: ResultValue
            let pPos: Bool? = p.map { $0 > 0 }, vPos: Bool? = v.map { $0 > 0 }
            let both: Bool? = pPos == false || vPos == false ? false : (pPos == true && vPos == true ? true : nil)
            if both == true {
                caseText = .string("both")
            } else {
                let notSmall: Bool? = v.map { !($0 < 100) }
                let second: Bool? = p == nil || notSmall == true ? true : (notSmall == nil ? nil : false)
                caseText = second == true ? .null : .string("other")
            }
            let expected: [ResultValue] = [
                f(p.flatMap { $0 < 0 ? nil : ($0 == 0 ? -.infinity : log($0)) }), f(p.map { exp($0 / 1000) }), v.map { .int(abs($0)) } ?? .null,
                f(p.flatMap { $0 < 0 ? nil : $0.squareRoot() }), f(p.map { ($0 * 10).rounded(.toNearestOrAwayFromZero) / 10 }),
                roundV.map { .int($0) } ?? .null, f(p.map { $0.rounded(.down) }), v.map { .int($0) } ?? .null, .int(v ?? -7),
                .float(p ?? v.map(Double.init) ?? 0), caseText, v.map { .int($0 == 1 ? 10 : $0 * 2) } ?? .null, f(p.map { -abs($0) }),
            ]
            for (c, want) in expected.enumerated() {
                #expect(ResultValue.sameBits(r[k, c], want) || Self.close(r[k, c], want, scale: 1), "\(row) column \(c): got \(r[k, c]), want \(want)")
            }
        }
        try db.close()
    }

    /// Words of the dialect as names: `AS latest`, columns called time, zone, sample, rows.
    @Test func keywordsAreNamesWhereTheGrammarAllows() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let db = try Database.open(dir.sub("db"))
        try db.write { tx in
            try tx.createTable("sample", schema: Schema(timeColumn: "time", columns: [Column("zone", .int64), Column("rows", .float64), Column("order", .int64)]))
            try tx.append(to: "sample", symbol: "x", time: 60_000, values: [.int64(8), .float64(1.5), .int64(3)])
            try tx.append(to: "sample", symbol: "x", time: 120_000, values: [.int64(9), .float64(2.5), .int64(4)])
        }
        let snap = try db.snapshot()
        let r = try snap.query("""
            SELECT time, zone AS latest, rows AS sample, "order" AS "select", sum(zone) OVER (PARTITION BY symbol ORDER BY time ROWS 1 PRECEDING) AS range
            FROM sample WHERE time > 0 AND zone >= 8 ORDER BY latest DESC LIMIT 5
            """)
        #expect(r.names == ["time", "latest", "sample", "select", "range"])
        #expect(r.rows == [[.int(120_000), .int(9), .float(2.5), .int(4), .int(17)], [.int(60_000), .int(8), .float(1.5), .int(3), .int(8)]])
        let latest = try snap.query("SELECT symbol, time AS zone, zone AS time FROM sample s WHERE s.zone > 0 LATEST ON time PARTITION BY symbol")
        #expect(latest.rows == [[.string("x"), .int(120_000), .int(9)]])
        let sampled = try snap.query("SELECT time, last(zone) AS latest, count(*) AS sample FROM sample SAMPLE BY 1d")
        #expect(sampled.rows == [[.int(0), .int(9), .int(2)]])
        try db.close()
    }
}

extension ResultValue {
    /// Equal, with floats compared by bits (NaN equals NaN).
    static func sameBits(_ a: ResultValue, _ b: ResultValue) -> Bool {
        if case .float(let x) = a, case .float(let y) = b { return x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN) }
        return a == b
    }
}
