// One window function over the partitions of a batch: frame bounds per row (ROWS by position,
// RANGE by the order key), then the function over each frame. Frames only move forward, so the
// aggregates slide: each value enters and leaves once (sums compensated, min/max by a monotonic
// queue), whatever the frame's size.

struct WindowKernel {
    let step: WindowStep
    let batch: Batch
    /// Row numbers of the batch in window order; partitions are ranges of it.
    let order: [Int]
    let orderKeys: [(slot: Int, descending: Bool)]

    /// The window's column, in the batch's row order.
    func compute(_ parts: [Range<Int>]) throws(StrataError) -> Vec {
        var out = WindowColumn(step.type, batch.count)
        let arg = try step.args.first.map { (e) throws(StrataError) in try Evaluator.eval(e, batch) }
        let fallback = step.args.count > 2 ? try Evaluator.eval(step.args[2], batch) : nil
        for part in parts {
            let rows = Array(order[part])
            switch step.function {
            case .window(.rowNumber):
                for (i, r) in rows.enumerated() { out.set(r, .int(Int64(i + 1))) }
            case .window(.lag), .window(.lead):
                shifted(rows, arg!, fallback, by: step.function == .window(.lag) ? -step.offset : step.offset, &out)
            case .window(.ema):
                ema(rows, arg!, &out)
            case .window(.firstValue), .window(.lastValue):
                let (lo, hi) = try bounds(rows)
                let first = step.function == .window(.firstValue)
                for (i, r) in rows.enumerated() where lo[i] < hi[i] { out.set(r, arg!.value(rows[first ? lo[i] : hi[i] - 1])) }
            case .aggregate(let f):
                let (lo, hi) = try bounds(rows)
                try slide(f, rows, arg, lo, hi, &out)
            }
        }
        return out.vec
    }

    /// lag and lead: the value `shift` rows away in the partition, else the default (or null).
    private func shifted(_ rows: [Int], _ x: Vec, _ fallback: Vec?, by shift: Int, _ out: inout WindowColumn) {
        if out.type == .float64 && fallback == nil {
            let p = x.floatValues(batch.count)
            for (i, r) in rows.enumerated() {
                let j = i + shift
                guard j >= 0 && j < rows.count, x.isValid(rows[j]) else { continue }
                out.floats[r] = p[p.startIndex + rows[j]]
                out.valid[r] = true
            }
            return
        }
        for (i, r) in rows.enumerated() {
            let j = i + shift
            out.set(r, j >= 0 && j < rows.count ? x.value(rows[j]) : (fallback?.value(r) ?? .null))
        }
    }

    private func ema(_ rows: [Int], _ x: Vec, _ out: inout WindowColumn) {
        let p = x.floatValues(batch.count)
        var e: Double? = nil
        for r in rows {
            if x.isValid(r) {
                let v = p[p.startIndex + r]
                e = e.map { step.alpha * v + (1 - step.alpha) * $0 } ?? v
            }
            if let e { out.set(r, .float(e)) }
        }
    }

    // MARK: Frames

    /// Each row's frame [lo, hi) as positions in the partition.
    private func bounds(_ rows: [Int]) throws(StrataError) -> ([Int], [Int]) {
        let n = rows.count
        var lo = [Int](repeating: 0, count: n), hi = [Int](repeating: n, count: n)
        let f = step.frame
        if f.kind == .rows {
            for i in 0..<n {
                lo[i] = Self.rowBound(f.start, i, n, end: false)
                hi[i] = max(lo[i], Self.rowBound(f.end, i, n, end: true))
            }
            return (lo, hi)
        }
        let keys = rangeKeys(rows)
        var a = 0, b = 0
        for i in 0..<n {
            lo[i] = Self.rangeBound(f.start, keys, i, &a, end: false)
            hi[i] = max(lo[i], Self.rangeBound(f.end, keys, i, &b, end: true))
        }
        return (lo, hi)
    }

    private static func rowBound(_ b: WindowFrame.Bound, _ i: Int, _ n: Int, end: Bool) -> Int {
        let e = end ? 1 : 0
        switch b {
        case .unboundedPreceding: return 0
        case .unboundedFollowing: return n
        case .currentRow: return i + e
        case .preceding(let k): return k > Int64(i) ? 0 : i - Int(k) + e
        case .following(let k): return min(n, k >= Int64(n) ? n : i + Int(k) + e)
        case .precedingSeconds, .followingSeconds: return i + e  // converted by the planner
        }
    }

    /// The order key per position, increasing along the partition (a descending key negated);
    /// RANGE without an offset needs only equality (peers), for which a rank serves.
    private func rangeKeys(_ rows: [Int]) -> [Int64] {
        guard orderKeys.count == 1 else {
            var rank: Int64 = 0
            var keys = [Int64](repeating: 0, count: rows.count)
            for i in rows.indices {
                if i > 0, orderKeys.contains(where: { batch.columns[$0.slot]!.value(rows[i]) != batch.columns[$0.slot]!.value(rows[i - 1]) }) { rank += 1 }
                keys[i] = rank
            }
            return keys
        }
        let v = batch.columns[orderKeys[0].slot]!, desc = orderKeys[0].descending
        return rows.map { r in
            var k: Int64
            switch v.value(r) {
            case .int(let x): k = x
            case .float(let d): k = d.isNaN ? .max : Int64(exactly: d.rounded(.down)) ?? (d < 0 ? .min : .max)
            default: k = .max  // nulls sort last
            }
            if desc { k = k == .min ? .max : -k }
            return k
        }
    }

    /// A RANGE bound: the first position whose key is at or past the bound (from the cursor on).
    private static func rangeBound(_ b: WindowFrame.Bound, _ keys: [Int64], _ i: Int, _ cursor: inout Int, end: Bool) -> Int {
        let n = keys.count
        let target: Int64
        switch b {
        case .unboundedPreceding: return 0
        case .unboundedFollowing: return n
        case .currentRow: target = keys[i]
        case .preceding(let d): target = keys[i].subtractingReportingOverflow(d).overflow ? .min : keys[i] - d
        case .following(let d): target = keys[i].addingReportingOverflow(d).overflow ? .max : keys[i] + d
        case .precedingSeconds, .followingSeconds: target = keys[i]
        }
        // start: first key >= target; end: first key > target.
        while cursor < n && (end ? keys[cursor] <= target : keys[cursor] < target) { cursor += 1 }
        return cursor
    }

    // MARK: Sliding aggregates

    private func slide(_ f: AggregateFunction, _ rows: [Int], _ arg: Vec?, _ lo: [Int], _ hi: [Int], _ out: inout WindowColumn) throws(StrataError) {
        guard let x = arg else {  // count(*)
            for (i, r) in rows.enumerated() { out.set(r, .int(Int64(hi[i] - lo[i]))) }
            return
        }
        if f == .min || f == .max {
            extremes(f == .min, rows, x, lo, hi, &out)
            return
        }
        var acc = SlidingSums(ints: x.isIntLike && (f == .sum || f == .avg || f == .count), squares: f != .sum && f != .avg && f != .count)
        if acc.ints {
            let v = x.intValues(batch.count)
            try slide(rows, x, lo, hi, &acc, &out, f) { (a, r, sign) in sign > 0 ? a.add(v[v.startIndex + r]) : a.remove(v[v.startIndex + r]) }
        } else {
            let v = x.floatValues(batch.count)
            acc.shift = rows.lazy.filter { x.isValid($0) }.map { v[v.startIndex + $0] }.first { $0.isFinite } ?? 0
            try slide(rows, x, lo, hi, &acc, &out, f) { (a, r, sign) in a.add(v[v.startIndex + r], sign: sign) }
        }
    }

    /// Moves the frame along the partition: values enter up to each row's frame end and leave up to
    /// its start; the result of each row written straight into the column.
    @inline(__always)
    private func slide(
        _ rows: [Int], _ x: Vec, _ lo: [Int], _ hi: [Int], _ acc: inout SlidingSums, _ out: inout WindowColumn, _ f: AggregateFunction,
        _ move: (inout SlidingSums, Int, Int) -> Void
    ) throws(StrataError) {
        var enter = 0, leave = 0
        let allValid = x.valid == nil
        for (i, r) in rows.enumerated() {
            while enter < hi[i] {
                let s = rows[enter]
                if allValid || x.isValid(s) { move(&acc, s, 1) }
                enter += 1
            }
            while leave < lo[i] {
                let s = rows[leave]
                if allValid || x.isValid(s) { move(&acc, s, -1) }
                leave += 1
            }
            if out.type == .float64 {
                if let d = acc.real(f) { out.floats[r] = d; out.valid[r] = true }
            } else {
                out.set(r, try acc.result(f, step.text))
            }
        }
    }

    /// min/max by a monotonic queue of positions: NaN and nulls skipped (NaN when the frame has only NaN).
    private func extremes(_ isMin: Bool, _ rows: [Int], _ x: Vec, _ lo: [Int], _ hi: [Int], _ out: inout WindowColumn) {
        let ints = x.isIntLike
        let iv = ints ? x.intValues(batch.count) : [], fv = ints ? [] : x.floatValues(batch.count)
        func better(_ a: Int, _ b: Int) -> Bool {  // positions; a strictly better than b
            if ints {
                let p = iv[iv.startIndex + rows[a]], q = iv[iv.startIndex + rows[b]]
                return isMin ? p < q : p > q
            }
            let p = fv[fv.startIndex + rows[a]], q = fv[fv.startIndex + rows[b]]
            return isMin ? ColumnStats.totalLess(p, q) : ColumnStats.totalLess(q, p)
        }
        var queue: [Int] = []
        var head = 0
        var nans: [Int] = []  // positions of NaN, to know whether the frame holds one
        var nanHead = 0
        var enter = 0
        for (i, r) in rows.enumerated() {
            while enter < hi[i] {
                let s = rows[enter]
                if x.isValid(s) {
                    if !ints && fv[fv.startIndex + s].isNaN {
                        nans.append(enter)
                    } else {
                        while queue.count > head && !better(queue[queue.count - 1], enter) { queue.removeLast() }
                        queue.append(enter)
                    }
                }
                enter += 1
            }
            while head < queue.count && queue[head] < lo[i] { head += 1 }
            while nanHead < nans.count && nans[nanHead] < lo[i] { nanHead += 1 }
            if head < queue.count {
                let best = rows[queue[head]]
                out.set(r, ints ? .int(iv[iv.startIndex + best]) : .float(fv[fv.startIndex + best]))
            } else if nanHead < nans.count && nans[nanHead] < hi[i] {
                out.set(r, .float(.nan))
            }
        }
    }
}

/// Sums over a sliding frame: Int64 exactly (Int128); Float64 with Neumaier's compensation, NaN
/// and infinities counted apart so that they leave the frame cleanly; for variance, the sums of
/// the values less the partition's first value and of their squares.
private struct SlidingSums {
    let ints: Bool
    /// Whether the squares are summed too (variance and deviation).
    let squared: Bool
    var count = 0
    var total: Int128 = 0
    var shift = 0.0
    var sum = 0.0, sumC = 0.0, squares = 0.0, squaresC = 0.0
    var nan = 0, plusInf = 0, minusInf = 0

    init(ints: Bool, squares: Bool) {
        self.ints = ints
        self.squared = squares
    }

    mutating func add(_ v: Int64) {
        total += Int128(v)
        count += 1
    }

    mutating func remove(_ v: Int64) {
        total -= Int128(v)
        count -= 1
    }

    mutating func add(_ v: Double, sign: Int) {
        count += sign
        if v.isNaN { nan += sign; return }
        if v == .infinity { plusInf += sign; return }
        if v == -.infinity { minusInf += sign; return }
        let d = v - shift
        Self.neumaier(&sum, &sumC, sign > 0 ? d : -d)
        if squared { Self.neumaier(&squares, &squaresC, sign > 0 ? d * d : -(d * d)) }
    }

    @inline(__always)
    private static func neumaier(_ s: inout Double, _ c: inout Double, _ x: Double) {
        let t = s + x
        if Swift.abs(s) >= Swift.abs(x) { c += (s - t) + x } else { c += (x - t) + s }
        s = t
    }

    /// A Float64 result (avg, sum of Float64, deviations), nil for null.
    @inline(__always)
    func real(_ f: AggregateFunction) -> Double? {
        if count == 0 { return nil }
        if ints { return f == .avg ? Double(total) / Double(count) : Double(total) }
        if nan == 0 && plusInf == 0 && minusInf == 0 {
            let n = Double(count), s = sum + sumC
            if f == .avg { return s / n + shift }
            if f == .sum { return s + shift * n }
        }
        guard case .float(let d) = try? result(f, "") else { return nil }
        return d
    }

    func result(_ f: AggregateFunction, _ text: String) throws(StrataError) -> ResultValue {
        if f == .count { return .int(Int64(count)) }
        if count == 0 { return .null }
        if ints {
            if f == .avg { return .float(Double(total) / Double(count)) }
            guard let v = Int64(exactly: total) else { throw .badInput("\(text) overflows: the sum does not fit in a 64-bit integer") }
            return .int(v)
        }
        let special: Double? = nan > 0 || (plusInf > 0 && minusInf > 0) ? .nan : plusInf > 0 ? .infinity : minusInf > 0 ? -.infinity : nil
        let n = Double(count)
        let s = sum + sumC
        switch f {
        case .sum: return .float(special ?? (s + shift * n))
        case .avg: return .float(special ?? (s / n + shift))
        default:
            let population = f == .stddevPop || f == .varPop
            if count - (population ? 0 : 1) < 1 { return .null }
            if special != nil { return .float(.nan) }
            let variance = Swift.max(0, ((squares + squaresC) - s * s / n) / (population ? n : n - 1))
            return .float(f == .variance || f == .varSamp || f == .varPop ? variance : variance.squareRoot())
        }
    }
}

/// A column being filled row by row, in any order.
struct WindowColumn {
    let type: ResultType
    var ints: [Int64] = []
    var floats: [Double] = []
    var strings: [String] = []
    var valid: [Bool]

    init(_ type: ResultType, _ n: Int) {
        self.type = type
        valid = [Bool](repeating: false, count: n)
        switch type {
        case .int64: ints = [Int64](repeating: 0, count: n)
        case .float64: floats = [Double](repeating: 0, count: n)
        case .string: strings = [String](repeating: "", count: n)
        }
    }

    @inline(__always)
    mutating func set(_ r: Int, _ v: ResultValue) {
        switch (type, v) {
        case (.int64, .int(let x)): ints[r] = x
        case (.float64, .float(let x)): floats[r] = x
        case (.float64, .int(let x)): floats[r] = Double(x)
        case (.string, .string(let x)): strings[r] = x
        default: return
        }
        valid[r] = true
    }

    var vec: Vec {
        let v: ArraySlice<Bool>? = valid.allSatisfy { $0 } ? nil : valid[...]
        switch type {
        case .int64: return Vec(.ints(ints[...]), valid: v)
        case .float64: return Vec(.floats(floats[...]), valid: v)
        case .string: return Vec(.strings(strings[...]), valid: v)
        }
    }
}
