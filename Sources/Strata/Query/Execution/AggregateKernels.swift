import CStrataKernels

/// One aggregate of a query, resolved: its function and arguments.
///
/// Semantics (Format.md's statistics follow the same rules, so blocks can be answered from them):
/// nulls are skipped (`first`/`last` too: they give the first/last value that is not null, so that a
/// column added later, or a minute with no price, does not hide the data around it, and so that block
/// statistics, which cover values, can answer them); `count(*)` counts rows, `count(col)` values; `sum` of Int64 is exact and fails if the total does not
/// fit in 64 bits; `sum` and `avg` of Float64 are NaN when a NaN is summed; `min` and `max` skip NaN
/// (NaN only when every value is NaN) and order -0.0 below +0.0; `first`/`last` are the values at the
/// smallest/largest time (ties: the first/last row in insertion order, then in symbol order); `vwap`
/// is sum(price × volume) / sum(volume) over rows where both are present. No rows: null (count: 0).
struct AggregateSpec {
    var function: AggregateFunction
    var args: [ResolvedExpr]
    /// Set by the planner: the slot of the time column, for first/last.
    var timeSlot: Int?
    /// quantile_cont, quantile_disc: the position q (median: 0.5).
    var quantile = 0.5
    /// The aggregate as written, for messages.
    var text: String

    var type: ResultType {
        switch function {
        case .count: .int64
        case .avg, .vwap, .weightedAvg, .twap, .stddev, .stddevSamp, .stddevPop, .variance, .varSamp, .varPop, .median, .quantileCont: .float64
        case .sum: args[0].type == .int64 ? .int64 : .float64
        case .min, .max, .first, .last, .quantileDisc, .quantile: args[0].type
        }
    }

    /// Answerable from block statistics when the argument is a plain stored column (sums of the
    /// time column excepted: the statistics hold its range only).
    func fromStats(timeSlot: Int?) -> Bool {
        if args.isEmpty { return true }
        guard [.count, .sum, .avg, .min, .max, .first, .last].contains(function), args.count == 1, let s = args[0].slot else { return false }
        return !(s == timeSlot && (function == .sum || function == .avg))
    }
}

/// A block's contribution to an aggregate, from its header: the argument's statistics (nil for
/// `count(*)` and the symbol) and how many rows have a value (all of them for `count(*)`).
struct BlockInput {
    var stats: ColumnStats?
    var values: Int
}

/// The running state of one aggregate for one group.
struct AggregateState {
    var n: Int64 = 0
    var has = false
    var bits: Int64 = 0  // min/max/first/last: an Int64 or a Float64's bit pattern
    var ts: Int64 = 0  // first/last: the time of `bits`
    var f = 0.0  // Float64 sum; vwap: sum(p × v)
    var f2 = 0.0  // vwap: sum(v)
    var i: Int128 = 0  // Int64 sum
    // min/max/first/last of text: `bits` is the index of the value in the group table's `texts`, so
    // that the state stays a plain value (no reference counting as groups are appended and merged).

    @inline(__always)
    static func floatLess(_ a: Double, _ b: Double) -> Bool { ColumnStats.totalLess(a, b) }
}

extension AggregateSpec {
    /// Folds rows [lo, hi) of the batch into `s`. `arg` and `arg2` are the evaluated arguments,
    /// `times` the time column (for first/last).
    func update(
        _ s: inout AggregateState, from lo: Int, to hi: Int, _ arg: Vec?, _ arg2: Vec?, times: Vec?, sorted: Bool, side: inout SideValues
    ) {
        guard let v = arg else {  // count(*)
            s.n += Int64(hi - lo)
            return
        }
        switch function {
        case .count: updateCount(&s, lo, hi, v)
        case .sum, .avg: updateSum(&s, lo, hi, v)
        case .min, .max: updateExtreme(&s, lo, hi, v, min: function == .min, texts: &side.texts)
        case .first, .last: updateFirstOrLast(&s, lo, hi, v, times, sorted: sorted, first: function == .first, texts: &side.texts)
        case .vwap, .weightedAvg: updateVwap(&s, lo, hi, price: v, volume: arg2!)
        case .twap: updateTwap(&s, lo, hi, v, times!)
        case .stddev, .stddevSamp, .stddevPop, .variance, .varSamp, .varPop: updateSpread(&s, lo, hi, v)
        case .median, .quantileCont, .quantileDisc, .quantile: collect(&s, lo, hi, v, &side.lists)
        }
    }

    @inline(__always)
    private func updateCount(_ s: inout AggregateState, _ lo: Int, _ hi: Int, _ v: Vec) {
        if let valid = v.valid { for r in lo..<hi where valid[valid.startIndex + r] { s.n += 1 } } else { s.n += Int64(hi - lo) }
    }

    @inline(__always)
    private func updateSum(_ s: inout AggregateState, _ lo: Int, _ hi: Int, _ v: Vec) {
        let n = hi - lo
        if args[0].type == .int64 {
            guard case .ints(let p) = v.values else {
                if case .int(let x) = v.values { s.i += Int128(x) * Int128(n); s.n += Int64(n) }
                return
            }
            let base = p.startIndex
            if let valid = v.valid {
                for r in lo..<hi where valid[valid.startIndex + r] { s.i += Int128(p[base + r]); s.n += 1 }
            } else {
                s.i += Self.sumInts(p[(base + lo)..<(base + hi)])
                s.n += Int64(n)
            }
        } else if case .decimals(let p, let scale) = v.values, v.valid == nil {
            // Exact integer sum, one division: at least as close to the true sum as adding the values.
            let total = Self.sumInts(p[(p.startIndex + lo)..<(p.startIndex + hi)])
            s.f += (Int64(exactly: total).map { Double($0) } ?? Double(total)) / scale
            s.n += Int64(n)
        } else {
            let p = v.floatValues(n == 0 ? 0 : hi)
            let base = p.startIndex
            if let valid = v.valid {
                for r in lo..<hi where valid[valid.startIndex + r] { s.f += p[base + r]; s.n += 1 }
            } else {
                s.f += Self.sumFloats(p[(base + lo)..<(base + hi)])
                s.n += Int64(n)
            }
        }
    }

    @inline(__always)
    private func updateExtreme(_ s: inout AggregateState, _ lo: Int, _ hi: Int, _ v: Vec, min isMin: Bool, texts: inout [String]) {
        if args[0].type == .string {
            for r in lo..<hi where v.isValid(r) {
                guard case .string(let x) = v.value(r) else { continue }
                if !s.has || (isMin ? utf8Less(x, texts[Int(s.bits)]) : utf8Less(texts[Int(s.bits)], x)) { Self.setText(&s, x, &texts) }
            }
            return
        }
        if v.valid == nil, hi > lo, updateExtremeWithoutNulls(&s, lo, hi, v, min: isMin) { return }
        if args[0].type == .int64 {
            let p = v.intValues(hi)
            let base = p.startIndex
            for r in lo..<hi where v.isValid(r) {
                let x = p[base + r]
                if !s.has || (isMin ? x < s.bits : x > s.bits) { s.bits = x; s.has = true }
            }
        } else {
            let p = v.floatValues(hi)
            let base = p.startIndex
            var best = s.has ? Double(bitPattern: UInt64(bitPattern: s.bits)) : Double.nan
            var seen = s.has
            for r in lo..<hi where v.isValid(r) {
                let x = p[base + r]
                seen = true
                if x.isNaN { continue }
                if best.isNaN || (isMin ? AggregateState.floatLess(x, best) : AggregateState.floatLess(best, x)) { best = x }
            }
            if seen { s.has = true; s.bits = Int64(bitPattern: best.bitPattern) }
        }
    }

    /// No nulls: the extreme of the run by a branch-free kernel, then folded in once. False when
    /// the column's form has no such kernel (a constant).
    @inline(__always)
    private func updateExtremeWithoutNulls(_ s: inout AggregateState, _ lo: Int, _ hi: Int, _ v: Vec, min isMin: Bool) -> Bool {
        switch v.values {
        case .ints(let p):
            Self.foldExtreme(&s, Self.extreme(p[(p.startIndex + lo)..<(p.startIndex + hi)], min: isMin), min: isMin)
            return true
        case .decimals(let p, let scale):
            // Division by 10^k is monotonic: the extreme integer gives the extreme value.
            Self.foldExtreme(&s, Double(Self.extreme(p[(p.startIndex + lo)..<(p.startIndex + hi)], min: isMin)) / scale, min: isMin)
            return true
        case .floats(let p):
            Self.foldExtreme(&s, Self.extreme(p[(p.startIndex + lo)..<(p.startIndex + hi)], min: isMin), min: isMin)
            return true
        default:
            return false
        }
    }

    /// Folds a run's extreme Int64 `x` into `s`.
    @inline(__always)
    static func foldExtreme(_ s: inout AggregateState, _ x: Int64, min isMin: Bool) {
        if !s.has || (isMin ? x < s.bits : x > s.bits) { s.bits = x; s.has = true }
    }

    /// Folds a run's extreme Float64 `x` (NaN when the run held only NaN) into `s`.
    @inline(__always)
    static func foldExtreme(_ s: inout AggregateState, _ x: Double, min isMin: Bool) {
        let best = s.has ? Double(bitPattern: UInt64(bitPattern: s.bits)) : Double.nan
        if !s.has || (!x.isNaN && (best.isNaN || (isMin ? AggregateState.floatLess(x, best) : AggregateState.floatLess(best, x)))) {
            s.bits = Int64(bitPattern: x.bitPattern)
            s.has = true
        }
    }

    @inline(__always)
    private func updateFirstOrLast(
        _ s: inout AggregateState, _ lo: Int, _ hi: Int, _ v: Vec, _ times: Vec?, sorted: Bool, first isFirst: Bool,
        texts: inout [String]
    ) {
        let t = times?.intValues(hi)
        func time(_ r: Int) -> Int64 { t.map { $0[$0.startIndex + r] } ?? 0 }
        let text = args[0].type == .string
        func offer(_ r: Int) {
            let ts = time(r)
            if !s.has || (isFirst ? ts < s.ts : ts >= s.ts) {
                s.ts = ts
                if text, case .string(let x) = v.value(r) { Self.setText(&s, x, &texts) } else { s.bits = Self.bits(v, r) }
                s.has = true
            }
        }
        if sorted || t == nil {
            // Rows in time order: the first (last) present row of the run is the one.
            if isFirst {
                for r in lo..<hi where v.isValid(r) { offer(r); break }
            } else {
                for r in stride(from: hi - 1, through: lo, by: -1) where v.isValid(r) { offer(r); break }
            }
        } else {
            for r in lo..<hi where v.isValid(r) { offer(r) }
        }
    }

    /// Makes `x` the text value of `s`: in place when `s` has one, else appended to `texts`.
    @inline(__always)
    private static func setText(_ s: inout AggregateState, _ x: String, _ texts: inout [String]) {
        if s.has {
            texts[Int(s.bits)] = x
        } else {
            s.bits = Int64(texts.count)
            texts.append(x)
            s.has = true
        }
    }

    /// Row `r` of `v` as an Int64 or a Float64's bit pattern.
    @inline(__always)
    private static func bits(_ v: Vec, _ r: Int) -> Int64 {
        switch v.values {
        case .ints(let p): p[p.startIndex + r]
        case .floats(let p): Int64(bitPattern: p[p.startIndex + r].bitPattern)
        case .decimals(let p, let scale): Int64(bitPattern: (Double(p[p.startIndex + r]) / scale).bitPattern)
        case .int(let x): x
        case .float(let x): Int64(bitPattern: x.bitPattern)
        default: 0
        }
    }

    @inline(__always)
    private func updateVwap(_ s: inout AggregateState, _ lo: Int, _ hi: Int, price v: Vec, volume w: Vec) {
        let p = v.floatValues(hi), q = w.floatValues(hi)
        for r in lo..<hi where v.isValid(r) && w.isValid(r) {
            let volume = q[q.startIndex + r]
            s.f += p[p.startIndex + r] * volume
            s.f2 += volume
            s.n += 1
        }
    }

    /// Folds a whole block from its statistics (only when `fromStats`, and `blockInput` allowed it).
    func update(_ s: inout AggregateState, block input: BlockInput, firstTime: Int64, lastTime: Int64) {
        let rows = input.values
        if rows == 0 { return }
        guard let st = input.stats else {
            s.n += Int64(rows)
            return
        }
        let isFloat = args[0].type == .float64
        switch function {
        case .count: s.n += Int64(rows)
        case .sum, .avg:
            if isFloat {
                s.f += st.nanCount > 0 ? .nan : Double(bitPattern: UInt64(bitPattern: st.sum))
            } else {
                s.i += Int128(st.sum)
            }
            s.n += Int64(rows)
        case .min, .max:
            let isMin = function == .min
            if isFloat {
                let x = Double(bitPattern: UInt64(bitPattern: isMin ? st.min : st.max))
                var best = s.has ? Double(bitPattern: UInt64(bitPattern: s.bits)) : Double.nan
                if !x.isNaN && (best.isNaN || (isMin ? AggregateState.floatLess(x, best) : AggregateState.floatLess(best, x))) { best = x }
                s.has = true
                s.bits = Int64(bitPattern: best.bitPattern)
            } else {
                let x = isMin ? st.min : st.max
                if !s.has || (isMin ? x < s.bits : x > s.bits) { s.bits = x; s.has = true }
            }
        case .first:
            if !s.has || firstTime < s.ts { s.has = true; s.ts = firstTime; s.bits = st.first }
        case .last:
            if !s.has || lastTime >= s.ts { s.has = true; s.ts = lastTime; s.bits = st.last }
        default: preconditionFailure("\(function.rawValue) is not answered from statistics")
        }
    }

    /// Combines `b` into `a`, where `b` saw rows after `a` (later symbols). Text values are in
    /// `texts` (a's table) and `otherTexts` (b's).
    func merge(_ a: inout AggregateState, _ b: AggregateState, side: inout SideValues, other: SideValues) {
        let otherTexts = other.texts
        switch function {
        case .count: a.n += b.n
        case .twap: Self.mergeTwap(&a, b)
        case .stddev, .stddevSamp, .stddevPop, .variance, .varSamp, .varPop: Self.mergeSpread(&a, b)
        case .median, .quantileCont, .quantileDisc, .quantile: Self.mergeLists(&a, b, &side.lists, other.lists)
        case .sum, .avg, .vwap, .weightedAvg:
            a.n += b.n
            a.i += b.i
            a.f += b.f
            a.f2 += b.f2
        case .min, .max:
            guard b.has else { return }
            let isMin = function == .min
            if args[0].type == .string {
                let x = otherTexts[Int(b.bits)]
                if !a.has || (isMin ? utf8Less(x, side.texts[Int(a.bits)]) : utf8Less(side.texts[Int(a.bits)], x)) { Self.setText(&a, x, &side.texts) }
            } else if !a.has {
                a = b
            } else if args[0].type == .int64 {
                if isMin ? b.bits < a.bits : b.bits > a.bits { a.bits = b.bits }
            } else {
                let x = Double(bitPattern: UInt64(bitPattern: b.bits)), y = Double(bitPattern: UInt64(bitPattern: a.bits))
                if !x.isNaN && (y.isNaN || (isMin ? AggregateState.floatLess(x, y) : AggregateState.floatLess(y, x))) { a.bits = b.bits }
            }
        case .first, .last:
            guard b.has && (!a.has || (function == .first ? b.ts < a.ts : b.ts >= a.ts)) else { return }
            a.ts = b.ts
            if args[0].type == .string { Self.setText(&a, otherTexts[Int(b.bits)], &side.texts) } else { a.bits = b.bits }
            a.has = true
        }
    }

    /// A state of this aggregate taken from another group table whose `texts` are appended after
    /// `offset` values of this one's.
    func rebased(_ s: AggregateState, textOffset offset: Int, listOffset: Int) -> AggregateState {
        if s.has && function.isOrderStatistic {
            var s = s
            s.bits += Int64(listOffset)
            return s
        }
        guard s.has, args.first?.type == .string, [.min, .max, .first, .last].contains(function) else { return s }
        var s = s
        s.bits += Int64(offset)
        return s
    }

    func result(_ s: AggregateState, name: String, side: SideValues) throws(StrataError) -> ResultValue {
        let type = self.type
        if hasPlainResult(type) {
            if type == .int64 { return try intResult(s, name: name).map { .int($0) } ?? .null }
            return floatResult(s).map { .float($0) } ?? .null
        }
        switch function {
        case .twap: return Self.twapResult(s)
        case .stddev, .stddevSamp, .stddevPop, .variance, .varSamp, .varPop: return spreadResult(s)
        case .median, .quantileCont, .quantileDisc, .quantile: return orderStatistic(s, side.lists)
        default: return s.has ? .string(side.texts[Int(s.bits)]) : .null  // min, max, first, last of text
        }
    }

    /// The results of `groups` (indices into `states`, `width` states a group, this aggregate's at
    /// `k`) as a column: numbers straight from the states into the column's storage, the rest value
    /// by value through `result`.
    func resultColumn(_ states: [AggregateState], width: Int, aggregate k: Int, groups: [Int], side: SideValues) throws(StrataError) -> ResultColumn {
        let type = self.type
        guard hasPlainResult(type) else {
            return try ResultColumn(type, count: groups.count) { (r) throws(StrataError) in
                try result(states[groups[r] * width + k], name: text, side: side)
            }
        }
        if type == .float64 { return .float64(groups.map { floatResult(states[$0 * width + k]) }) }
        var column: [Int64?] = []
        column.reserveCapacity(groups.count)
        for g in groups { column.append(try intResult(states[g * width + k], name: text)) }
        return .int64(column)
    }

    /// Whether `intResult` (an Int64 result) or `floatResult` (a Float64 one) gives the results.
    @inline(__always)
    private func hasPlainResult(_ type: ResultType) -> Bool {
        switch function {
        case .count, .sum, .avg, .min, .max, .first, .last, .vwap, .weightedAvg: type != .string
        default: false
        }
    }

    /// count, sum of Int64 (an error when it does not fit), min/max/first/last of Int64; nil: null.
    @inline(__always)
    private func intResult(_ s: AggregateState, name: String) throws(StrataError) -> Int64? {
        switch function {
        case .count: return s.n
        case .sum:
            if s.n == 0 { return nil }
            guard let v = Int64(exactly: s.i) else { throw .badInput("\(name) overflows: the sum does not fit in a 64-bit integer") }
            return v
        default: return s.has ? s.bits : nil
        }
    }

    /// sum of Float64, avg, vwap, min/max/first/last of Float64; nil: null.
    @inline(__always)
    private func floatResult(_ s: AggregateState) -> Double? {
        switch function {
        case .sum: s.n == 0 ? nil : s.f
        case .avg: s.n == 0 ? nil : (args[0].type == .int64 ? Double(s.i) : s.f) / Double(s.n)
        case .vwap, .weightedAvg: s.n == 0 || s.f2 == 0 ? nil : s.f / s.f2
        default: s.has ? Double(bitPattern: UInt64(bitPattern: s.bits)) : nil
        }
    }

    /// An exact Int64 sum: each value split into its high 32 bits (signed) and low 32 bits, summed in
    /// two Int64 accumulators that cannot overflow within 2^31 values; no branch per value.
    static func sumInts(_ p: ArraySlice<Int64>) -> Int128 {
        p.withUnsafeBufferPointer { sumInts($0) }
    }

    static func sumInts(_ p: UnsafeBufferPointer<Int64>) -> Int128 {
        guard let base = p.baseAddress else { return 0 }
        var total: Int128 = 0
        var start = 0
        while start < p.count {
            let n = Swift.min(p.count - start, 1 << 30)
            var high: Int64 = 0, low: Int64 = 0
            strata_split_sum_i64(base + start, n, &high, &low)
            total += Int128(high) * 4_294_967_296 + Int128(low)
            start += n
        }
        return total
    }

    /// The least (greatest) of `b` and `start`, with four accumulators. `x < a ? x : a` keeps `a` when
    /// x is NaN, so NaN is skipped.
    @inline(__always)
    private static func fold<T: Comparable>(_ b: UnsafeBufferPointer<T>, from start: T, min isMin: Bool) -> T {
        isMin ? fold(b, from: start, by: { $0 < $1 }) : fold(b, from: start, by: { $0 > $1 })
    }

    /// One loop per direction: `better(x, a)` is fixed when this is inlined, not tested per value.
    @inline(__always)
    private static func fold<T>(_ b: UnsafeBufferPointer<T>, from start: T, by better: (T, T) -> Bool) -> T {
        @inline(__always) func pick(_ x: T, _ a: T) -> T { better(x, a) ? x : a }
        var a0 = start, a1 = start, a2 = start, a3 = start
        var k = 0
        let n = b.count
        while k + 4 <= n {
            a0 = pick(b[k], a0)
            a1 = pick(b[k + 1], a1)
            a2 = pick(b[k + 2], a2)
            a3 = pick(b[k + 3], a3)
            k += 4
        }
        while k < n { a0 = pick(b[k], a0); k += 1 }
        return pick(pick(a1, a0), pick(a3, a2))
    }

    /// The least (greatest) of a non-empty run of Int64.
    static func extreme(_ p: ArraySlice<Int64>, min isMin: Bool) -> Int64 {
        p.withUnsafeBufferPointer { extreme($0, min: isMin) }
    }

    static func extreme(_ b: UnsafeBufferPointer<Int64>, min isMin: Bool) -> Int64 {
        precondition(!b.isEmpty)
        return isMin ? strata_min_i64(b.baseAddress!, b.count) : strata_max_i64(b.baseAddress!, b.count)
    }

    /// The least (greatest) of a non-empty run of Float64 by the rules of min and max: NaN skipped
    /// (NaN when every value is NaN), -0.0 below +0.0. The rare cases (the result is the starting
    /// infinity or a zero) are settled by a second look at the run.
    static func extreme(_ p: ArraySlice<Double>, min isMin: Bool) -> Double {
        p.withUnsafeBufferPointer { extreme($0, min: isMin) }
    }

    static func extreme(_ b: UnsafeBufferPointer<Double>, min isMin: Bool) -> Double {
        let start = isMin ? Double.infinity : -Double.infinity
        let a0 = fold(b, from: start, min: isMin)
        if a0 == start {
            return b.contains(where: { !$0.isNaN }) ? start : .nan
        }
        if a0 == 0 {
            let wanted: FloatingPointSign = isMin ? .minus : .plus
            return b.contains(where: { $0 == 0 && $0.sign == wanted }) ? (isMin ? -0.0 : 0.0) : (isMin ? 0.0 : -0.0)
        }
        return a0
    }

    /// A Float64 sum with four accumulators.
    static func sumFloats(_ p: ArraySlice<Double>) -> Double {
        p.withUnsafeBufferPointer { sumFloats($0) }
    }

    static func sumFloats(_ p: UnsafeBufferPointer<Double>) -> Double {
        var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
        var k = 0
        let end = p.count
        while k + 4 <= end {
            a0 += p[k]
            a1 += p[k + 1]
            a2 += p[k + 2]
            a3 += p[k + 3]
            k += 4
        }
        while k < end {
            a0 += p[k]
            k += 1
        }
        return (a0 + a1) + (a2 + a3)
    }
}
