// The aggregates that are not answered from block statistics: variance and deviation (Welford's
// running mean and sum of squared deviations, merged by Chan's formula), the time-weighted
// average, and the order statistics (median, quantiles: every value kept, sorted once at the end).

extension AggregateSpec {
    /// Welford: `n` values, `f` their mean, `f2` the sum of squared deviations from it.
    @inline(__always)
    func updateSpread(_ s: inout AggregateState, _ lo: Int, _ hi: Int, _ v: Vec) {
        let p = v.floatValues(hi)
        let base = p.startIndex
        var n = Double(s.n), mean = s.f, m2 = s.f2
        for r in lo..<hi where v.isValid(r) {
            let x = p[base + r]
            n += 1
            let d = x - mean
            mean += d / n
            m2 += d * (x - mean)
        }
        s.n = Int64(n)
        s.f = mean
        s.f2 = m2
    }

    static func mergeSpread(_ a: inout AggregateState, _ b: AggregateState) {
        if b.n == 0 { return }
        if a.n == 0 { a = b; return }
        let na = Double(a.n), nb = Double(b.n), n = na + nb
        let d = b.f - a.f
        a.f2 = a.f2 + b.f2 + d * d * na * nb / n
        a.f = a.f + d * nb / n
        a.n += b.n
    }

    func spreadResult(_ s: AggregateState) -> ResultValue {
        let population = function == .stddevPop || function == .varPop
        let divisor = population ? s.n : s.n - 1
        if divisor < 1 { return .null }
        let raw = s.f2 / Double(divisor)
        let variance = raw < 0 ? 0 : raw  // NaN stays NaN
        return .float(function == .variance || function == .varSamp || function == .varPop ? variance : variance.squareRoot())
    }

    /// The step function's area: `f` the area so far, `bits` the last value (Float64 bits), `ts`
    /// its time, `i` the first time; `n` the values seen. Rows come in time order (the planner
    /// allows twap only where they do).
    @inline(__always)
    func updateTwap(_ s: inout AggregateState, _ lo: Int, _ hi: Int, _ v: Vec, _ times: Vec) {
        let p = v.floatValues(hi), t = times.intValues(hi)
        for r in lo..<hi where v.isValid(r) {
            let x = p[p.startIndex + r], ts = t[t.startIndex + r]
            if s.n == 0 {
                s.i = Int128(ts)
            } else {
                s.f += Double(bitPattern: UInt64(bitPattern: s.bits)) * Double(ts &- s.ts)
            }
            s.bits = Int64(bitPattern: x.bitPattern)
            s.ts = ts
            s.n += 1
        }
    }

    /// `b` saw rows after `a`'s.
    static func mergeTwap(_ a: inout AggregateState, _ b: AggregateState) {
        if b.n == 0 { return }
        if a.n == 0 { a = b; return }
        a.f += Double(bitPattern: UInt64(bitPattern: a.bits)) * Double(Int64(b.i) &- a.ts) + b.f
        a.bits = b.bits
        a.ts = b.ts
        a.n += b.n
    }

    /// The area over the span from the first to the last time; with no span, the last value.
    static func twapResult(_ s: AggregateState) -> ResultValue {
        if s.n == 0 { return .null }
        let span = s.ts &- Int64(s.i)
        if span == 0 { return .float(Double(bitPattern: UInt64(bitPattern: s.bits))) }
        return .float(s.f / Double(span))
    }

    /// Keeps the values (Int64, or Float64 bit patterns) in the group's list.
    @inline(__always)
    func collect(_ s: inout AggregateState, _ lo: Int, _ hi: Int, _ v: Vec, _ lists: inout [[Int64]]) {
        if !s.has {
            s.has = true
            s.bits = Int64(lists.count)
            lists.append([])
        }
        let k = Int(s.bits)
        if args[0].type == .int64 {
            let p = v.intValues(hi)
            for r in lo..<hi where v.isValid(r) { lists[k].append(p[p.startIndex + r]) }
        } else {
            let p = v.floatValues(hi)
            for r in lo..<hi where v.isValid(r) { lists[k].append(Int64(bitPattern: p[p.startIndex + r].bitPattern)) }
        }
        s.n = Int64(lists[k].count)
    }

    static func mergeLists(_ a: inout AggregateState, _ b: AggregateState, _ lists: inout [[Int64]], _ other: [[Int64]]) {
        guard b.has else { return }
        if !a.has {
            a.has = true
            a.bits = Int64(lists.count)
            lists.append([])
        }
        lists[Int(a.bits)].append(contentsOf: other[Int(b.bits)])
        a.n = Int64(lists[Int(a.bits)].count)
    }

    /// Exact: the values sorted (NaN after every number, as ORDER BY sorts them), then the one at
    /// the position (quantile_disc) or the interpolation between the two around it.
    func orderStatistic(_ s: AggregateState, _ lists: [[Int64]]) -> ResultValue {
        guard s.has, !lists[Int(s.bits)].isEmpty else { return .null }
        let q = function == .median ? 0.5 : quantile
        let ints = args[0].type == .int64
        let values: [Double]
        var sortedInts: [Int64] = []
        if ints {
            sortedInts = lists[Int(s.bits)].sorted()
            values = []
        } else {
            values = lists[Int(s.bits)].map { Double(bitPattern: UInt64(bitPattern: $0)) }.sorted(by: Self.sortLess)
        }
        let n = ints ? sortedInts.count : values.count
        func value(_ i: Int) -> Double { ints ? Double(sortedInts[i]) : values[i] }
        if function == .quantileDisc || function == .quantile {
            let i = Swift.max(0, Int((q * Double(n)).rounded(.up)) - 1)
            return ints ? .int(sortedInts[i]) : .float(values[i])
        }
        let position = q * Double(n - 1)
        let below = Int(position.rounded(.down)), above = Int(position.rounded(.up))
        if below == above { return .float(value(below)) }
        let x = value(below), y = value(above)
        return .float(x + (y - x) * (position - Double(below)))
    }

    private static func sortLess(_ a: Double, _ b: Double) -> Bool {
        if a.isNaN { return false }
        if b.isNaN { return true }
        return ColumnStats.totalLess(a, b)
    }
}
