import Strata


/// A deterministic generator of realistic A-share ETF data (see shared DOMAIN.md): one-minute bars
/// in trading hours (09:30–11:29 and 13:00–14:59 Asia/Shanghai, bars stamped with the start of their
/// minute), 3-decimal prices on a geometric random walk with fat tails, volumes in lots of 100 with a
/// U-shaped day, turnover with one decimal inside [low, high] × volume, daily fund shares at 15:00,
/// and irregular ticks in nanoseconds with ties. Every series depends only on the seed and the symbol.
public enum SampleData {
    public struct Summary: Sendable {
        public var symbols: [String]
        public var tradingDays: Int
        public var bars: Int
        public var fundRows: Int
        public var ticks: Int
    }

    static let knownSymbols = ["159363", "588730", "159819", "515070", "159381", "589010"]
    static let prefixes = ["510", "512", "513", "515", "516", "517", "159", "560", "561", "562", "563", "588"]
    static let holidays: Set<String> = Set(
        ("2024-01-01 2024-02-09 2024-02-12 2024-02-13 2024-02-14 2024-02-15 2024-02-16 2024-04-04 2024-04-05 "
            + "2024-05-01 2024-05-02 2024-05-03 2024-06-10 2024-09-16 2024-09-17 2024-10-01 2024-10-02 2024-10-03 "
            + "2024-10-04 2024-10-07 2025-01-01 2025-01-28 2025-01-29 2025-01-30 2025-01-31 2025-02-03 2025-02-04 "
            + "2025-04-04 2025-05-01 2025-05-02 2025-05-05 2025-06-02 2025-10-01 2025-10-02 2025-10-03 2025-10-06 "
            + "2025-10-07 2025-10-08").split(separator: " ").map(String.init))
    static let msPerDay: Int64 = 86_400_000
    static let shanghaiOffsetMs: Int64 = 8 * 3_600_000

    /// Days since 1970-01-01 of the trading days from 2024-01-02 on.
    static func tradingDays(_ count: Int) -> [Int64] {
        var days: [Int64] = []
        var day = CivilDate.daysFromCivil(2024, 1, 2)
        while days.count < count {
            let weekday = ((day % 7) + 11) % 7  // 0 = Monday (1970-01-01 was a Thursday)
            let (y, m, d) = CivilDate.civilFromDays(day)
            let iso = "\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"
            if weekday < 5 && !holidays.contains(iso) { days.append(day) }
            day += 1
        }
        return days
    }

    static func symbols(_ count: Int, seed: UInt64) -> [String] {
        var out = Array(knownSymbols.prefix(count))
        var seen = Set(out)
        var rng = SampleRandom(seed: seed ^ 0x5EED_0007)
        while out.count < count {
            let code = prefixes[Int(rng.next() % UInt64(prefixes.count))] + String(1000 + Int(rng.next() % 1000)).dropFirst()
            if seen.insert(code).inserted { out.append(code) }
        }
        return out.sorted()
    }

    /// Writes `bars_1m.csv`, `fund_shares.csv` and `ticks.csv` into `directory`.
    public static func generate(
        into directory: String, symbols symbolCount: Int = 50, days dayCount: Int = 20, seed: UInt64 = 20_240_102,
        tickSymbols: Int = 3, tickDays: Int = 2
    ) throws(StrataError) -> Summary {
        if symbolCount < 1 || symbolCount > 10_000 || dayCount < 1 || dayCount > 5_000 {
            throw .badInput("generate wants 1...10000 symbols and 1...5000 days")
        }
        try LocalFiles.makeDirectory(directory)
        let days = tradingDays(dayCount)
        let syms = symbols(symbolCount, seed: seed)
        var bars = try CSVWriter(path: directory + "/bars_1m.csv", header: "symbol,ts,open,high,low,close,volume,amount")
        var fund = try CSVWriter(path: directory + "/fund_shares.csv", header: "symbol,ts,shares,aum,margin_balance")
        var ticks = try CSVWriter(path: directory + "/ticks.csv", header: "symbol,ts,price,size")
        var summary = Summary(symbols: syms, tradingDays: days.count, bars: 0, fundRows: 0, ticks: 0)
        for (index, sym) in syms.enumerated() {
            var rng = SampleRandom(seed: seed &* 1_000_003 &+ UInt64(sym.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
            var firstDay = 0
            if !knownSymbols.contains(sym) && days.count >= 5 && rng.uniform() < 0.10 {
                firstDay = 1 + Int(rng.next() % UInt64(max(1, Int(0.6 * Double(days.count)) - 1)))
            }
            let series = SymbolSeries(rng: &rng, days: days.count - firstDay)
            var closes: [Int64] = []
            for (k, day) in days[firstDay...].enumerated() {
                let midnight = day * msPerDay - shanghaiOffsetMs
                let close = series.writeBars(sym, dayIndex: k, midnight: midnight, rng: &rng, to: &bars)
                closes.append(close)
                summary.bars += 240
                if index < tickSymbols && k >= days.count - firstDay - tickDays {
                    summary.ticks += series.writeTicks(sym, midnight: midnight, close: close, rng: &rng, to: &ticks)
                }
            }
            summary.fundRows += try series.writeFund(sym, days: Array(days[firstDay...]), closes: closes, rng: &rng, to: &fund)
            try bars.flushIfLarge()
        }
        try bars.finish()
        try fund.finish()
        try ticks.finish()
        return summary
    }
}

/// One symbol's random walk parameters.
private struct SymbolSeries {
    var price: Double
    let dailyVol: Double
    let baseVolume: Double
    static let profile: [Double] = {
        var f = (0..<240).map { m -> Double in
            let x = Double(m)
            var v = 0.6 + 1.6 * exp(-x / 12) + 0.9 * exp(-(239 - x) / 10)
            if m >= 120 { v += 0.5 * exp(-(x - 120) / 8) }
            return v
        }
        let mean = f.reduce(0, +) / 240
        for i in f.indices { f[i] /= mean }
        return f
    }()

    init(rng: inout SampleRandom, days: Int) {
        price = exp(log(0.5) + rng.uniform() * (log(5.0) - log(0.5)))
        dailyVol = 0.008 + rng.uniform() * 0.017
        baseVolume = exp(log(200.0) + rng.uniform() * (log(2.0e6) - log(200.0)))
    }

    /// Writes one day's 240 bars; returns the day's close in thousandths.
    func writeBars(_ sym: String, dayIndex: Int, midnight: Int64, rng: inout SampleRandom, to out: inout CSVWriter) -> Int64 {
        var p = price * exp(rng.normal() * 0.5 * dailyVol)
        let sigma = dailyVol / (240.0).squareRoot()
        let dayFactor = exp(rng.normal() * 0.35)
        var lastClose = max(1, Int64((p * 1000).rounded()))
        for m in 0..<240 {
            let minute = m < 120 ? 9 * 60 + 30 + m : 13 * 60 + (m - 120)
            let ts = midnight + Int64(minute) * 60_000
            let vol = sigma * Self.profile[m].squareRoot()
            let start = p
            p *= exp(rng.studentT4() * vol)
            var open = max(1, Int64(((start + rng.normal() * 0.0003) * 1000).rounded()))
            var close = max(1, Int64((p * 1000).rounded()))
            let range = 0.8 * vol * p * 1000
            var high = max(open, close) + Int64(abs(rng.normal()) * range)
            var low = max(1, min(open, close) - Int64(abs(rng.normal()) * range))
            var spike = 1.0
            if rng.uniform() < 0.02 { spike = 1 + min(3 * rng.pareto(), 30) }
            let lots = (baseVolume * Self.profile[m] * dayFactor * exp(rng.normal() * 0.8) * spike / 100 + 0.5).rounded(.down)
            let volume = Int64(lots) * 100
            var amountTenths: Int64 = 0
            if volume == 0 {
                open = lastClose; high = lastClose; low = lastClose; close = lastClose
            } else {
                let vwap = Double(low) + Double(high - low) * rng.uniform()  // thousandths
                amountTenths = Int64((Double(volume) * vwap / 100).rounded())
                lastClose = close
            }
            out.field(sym)
            out.int(ts)
            out.decimal(open, scale: 3)
            out.decimal(high, scale: 3)
            out.decimal(low, scale: 3)
            out.decimal(close, scale: 3)
            out.int(volume)
            out.decimal(amountTenths, scale: 1, last: true)
        }
        return lastClose
    }

    /// Irregular ticks through the day in nanoseconds, bursts at the open and close, ties allowed.
    func writeTicks(_ sym: String, midnight: Int64, close: Int64, rng: inout SampleRandom, to out: inout CSVWriter) -> Int {
        var n = 0
        var price = close
        for session in [(9 * 3600 + 30 * 60, 11 * 3600 + 30 * 60), (13 * 3600, 15 * 3600)] {
            var t = (midnight + Int64(session.0) * 1000) * 1_000_000
            let end = (midnight + Int64(session.1) * 1000) * 1_000_000
            while t < end {
                let fromEdge = min(t - (midnight + Int64(session.0) * 1000) * 1_000_000, end - t)
                let busy = fromEdge < 600_000_000_000 ? 0.2 : 1.0
                let gap = Int64(rng.exponential() * busy * 3e9)
                t += rng.uniform() < 0.05 ? 0 : max(1, gap)
                if t >= end { break }
                price = max(1, price + Int64(rng.normal() * 1.2))
                out.field(sym)
                out.int(t)
                out.decimal(price, scale: 3)
                out.int(Int64(1 + rng.next() % 50) * 100, last: true)
                n += 1
            }
        }
        return n
    }

    func writeFund(_ sym: String, days: [Int64], closes: [Int64], rng: inout SampleRandom, to out: inout CSVWriter) throws(StrataError) -> Int {
        let unit = [200_000.0, 500_000.0, 1_000_000.0][Int(rng.next() % 3)]
        var units = (exp(log(2.0e8) + rng.uniform() * (log(3.0e10) - log(2.0e8))) / unit).rounded()
        let margin = rng.uniform() < 0.7
        var mb = 0.0
        for (k, day) in days.enumerated() {
            if k > 0 && rng.uniform() < 0.6 { units = max(10, units + (rng.studentT4() * units * 0.003).rounded()) }
            let shares = Int64(units * unit)
            let nav = (Double(closes[k]) / 1000 * (1 + rng.normal() * 0.0005) * 10_000).rounded() / 10_000
            let aumCents = Int64((Double(shares) * nav * 100).rounded())
            if margin {
                mb = k == 0 ? Double(aumCents) * (0.005 + 0.045 * rng.uniform()) : mb * exp(rng.normal() * 0.03)
            }
            out.field(sym)
            out.int(day * SampleData.msPerDay - SampleData.shanghaiOffsetMs + 15 * 3_600_000)
            out.int(shares)
            out.decimal(aumCents, scale: 2)
            out.decimal(Int64(mb.rounded()), scale: 2, last: true)
        }
        return days.count
    }
}

/// SplitMix64 with the few distributions the generator needs.
struct SampleRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / 9_007_199_254_740_992 }
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
    /// Student's t with 4 degrees of freedom, scaled to unit variance.
    mutating func studentT4() -> Double {
        var chi = 0.0
        for _ in 0..<4 { let z = normal(); chi += z * z }
        return normal() / (chi / 4).squareRoot() / (2.0).squareRoot()
    }
    mutating func pareto() -> Double { pow(max(uniform(), 1e-12), -1 / 1.5) - 1 }
    mutating func exponential() -> Double { -log(max(uniform(), 1e-300)) }
}

/// Writes CSV text through a buffer to a new file.
struct CSVWriter {
    private let out: OutputFile
    private var buffer: [UInt8] = []

    init(path: String, header: String) throws(StrataError) {
        out = try OutputFile(creating: path)
        buffer.reserveCapacity(1 << 20)
        buffer.append(contentsOf: header.utf8)
        buffer.append(UInt8(ascii: "\n"))
    }

    mutating func field(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        buffer.append(UInt8(ascii: ","))
    }

    mutating func int(_ v: Int64, last: Bool = false) {
        appendInt(v)
        buffer.append(last ? UInt8(ascii: "\n") : UInt8(ascii: ","))
    }

    /// `v / 10^scale` written with exactly `scale` decimals.
    mutating func decimal(_ v: Int64, scale: Int, last: Bool = false) {
        var p: UInt64 = 1
        for _ in 0..<scale { p *= 10 }
        if v < 0 { buffer.append(UInt8(ascii: "-")) }
        let m = v.magnitude
        appendDigits(m / p, minimum: 1)
        buffer.append(UInt8(ascii: "."))
        appendDigits(m % p, minimum: scale)
        buffer.append(last ? UInt8(ascii: "\n") : UInt8(ascii: ","))
    }

    private mutating func appendInt(_ v: Int64) {
        if v < 0 { buffer.append(UInt8(ascii: "-")) }
        appendDigits(v.magnitude, minimum: 1)
    }

    /// The decimal digits of `m`, zero-padded on the left to at least `minimum` digits.
    private mutating func appendDigits(_ m: UInt64, minimum: Int) {
        let start = buffer.count
        var m = m
        repeat {
            buffer.append(UInt8(ascii: "0") + UInt8(m % 10))
            m /= 10
        } while m > 0
        while buffer.count - start < minimum { buffer.append(UInt8(ascii: "0")) }
        buffer[start...].reverse()
    }

    mutating func flushIfLarge() throws(StrataError) {
        if buffer.count >= 1 << 20 { try flush() }
    }

    mutating func flush() throws(StrataError) {
        out.append(contentsOf: buffer)
        try out.flush()
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func finish() throws(StrataError) {
        try flush()
        try out.finish()
    }
}

// The C math library's functions, through Strata's one door to the system.
private func exp(_ x: Double) -> Double { CMath.exp(x) }
private func log(_ x: Double) -> Double { CMath.log(x) }
private func cos(_ x: Double) -> Double { CMath.cos(x) }
private func pow(_ x: Double, _ y: Double) -> Double { CMath.pow(x, y) }
