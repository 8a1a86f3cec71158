// A batch's runs of rows folded into their groups, one aggregate at a time. The argument's form is
// settled once per batch, not once per run: the common forms (a numeric column without nulls)
// are folded through pointers borrowed for the whole batch, with no enum switch, slice or reference
// count per run; every other form goes run by run through `update(_:from:to:...)`, which gives the
// same states (sums exact or in the same order, the same extremes, the same first and last).

/// Rows [lo, hi) of a batch, all of one group.
struct GroupRun {
    var lo: Int
    var hi: Int
    var group: Int
}

extension AggregateSpec {
    /// Folds each run of the batch into `states[run.group * width + k]`. `x` and `y` are the
    /// evaluated arguments, `times` the time column (for first/last), each at least as long as the
    /// last run's end.
    func update(
        _ states: UnsafeMutableBufferPointer<AggregateState>, width: Int, aggregate k: Int, runs: [GroupRun], _ x: Vec?, _ y: Vec?,
        times: Vec?, sorted: Bool, side: inout SideValues
    ) {
        if updateWithoutNulls(states, width, k, runs, x, times, sorted: sorted) { return }
        for run in runs {
            update(&states[run.group * width + k], from: run.lo, to: run.hi, x, y, times: times, sorted: sorted, side: &side)
        }
    }

    /// The runs folded when the argument is a numeric column without nulls (or absent: count(*))
    /// and the aggregate one of count, sum, avg, min, max, first, last; false when not.
    private func updateWithoutNulls(
        _ states: UnsafeMutableBufferPointer<AggregateState>, _ width: Int, _ k: Int, _ runs: [GroupRun], _ x: Vec?, _ times: Vec?,
        sorted: Bool
    ) -> Bool {
        if x == nil || (function == .count && x?.valid == nil) {  // count(*), or count of a column without nulls
            for run in runs { states[run.group * width + k].n += Int64(run.hi - run.lo) }
            return true
        }
        guard let x, x.valid == nil, args.count == 1, args[0].type != .string, let end = runs.last?.hi else { return false }
        switch function {
        case .sum, .avg:
            return withColumn(x, rows: end) { (column: RunColumn) in
                for run in runs { column.addSum(&states[run.group * width + k], run.lo, run.hi) }
            }
        case .min, .max:
            let isMin = function == .min
            return withColumn(x, rows: end) { (column: RunColumn) in
                for run in runs { column.foldExtreme(&states[run.group * width + k], run.lo, run.hi, min: isMin) }
            }
        case .first, .last:
            return updateFirstOrLastWithoutNulls(states, width, k, runs, x, times, sorted: sorted, rows: end)
        default:
            return false
        }
    }

    /// first/last of rows in time order (or without a time column): the first (last) row of each
    /// run is the one offered, as `updateFirstOrLast` does.
    private func updateFirstOrLastWithoutNulls(
        _ states: UnsafeMutableBufferPointer<AggregateState>, _ width: Int, _ k: Int, _ runs: [GroupRun], _ x: Vec, _ times: Vec?,
        sorted: Bool, rows: Int
    ) -> Bool {
        guard sorted || times == nil else { return false }
        var timeSlice: ArraySlice<Int64> = []
        if let times {
            guard case .ints(let t) = times.values, t.count >= rows else { return false }
            timeSlice = t
        }
        let isFirst = function == .first, hasTimes = times != nil
        return timeSlice.withUnsafeBufferPointer { t in
            withColumn(x, rows: rows) { (column: RunColumn) in
                for run in runs {
                    let r = isFirst ? run.lo : run.hi - 1
                    let ts = hasTimes ? t[r] : 0
                    let i = run.group * width + k
                    if !states[i].has || (isFirst ? ts < states[i].ts : ts >= states[i].ts) {
                        states[i].ts = ts
                        states[i].bits = column.bits(r)
                        states[i].has = true
                    }
                }
            }
        }
    }

    /// Calls `body` with the values of `x` borrowed as a `RunColumn`; false (and `body` not called)
    /// when `x` is not an Int64, Float64 or decimal column of at least `rows` rows, or its form is
    /// not the argument's type (Int64 values for an int64 argument, the others for float64).
    private func withColumn(_ x: Vec, rows: Int, _ body: (RunColumn) -> Void) -> Bool {
        let isInt = args[0].type == .int64
        switch x.values {
        case .ints(let p) where p.count >= rows && isInt:
            p.withUnsafeBufferPointer { body(.ints($0)) }
        case .floats(let p) where p.count >= rows && !isInt:
            p.withUnsafeBufferPointer { body(.floats($0)) }
        case .decimals(let p, let scale) where p.count >= rows && !isInt:
            p.withUnsafeBufferPointer { body(.decimals($0, scale)) }
        default:
            return false
        }
        return true
    }
}

/// A batch's argument values without nulls, borrowed for the batch: Int64, Float64, or a decimal
/// column's integers (value = integer / scale).
private enum RunColumn {
    case ints(UnsafeBufferPointer<Int64>)
    case floats(UnsafeBufferPointer<Double>)
    case decimals(UnsafeBufferPointer<Int64>, Double)

    /// sum/avg of rows [lo, hi): Int64 exactly; a decimal column's integers exactly, then divided
    /// once; Float64 with four accumulators (as `updateSum`).
    @inline(__always)
    func addSum(_ s: inout AggregateState, _ lo: Int, _ hi: Int) {
        switch self {
        case .ints(let p):
            s.i += AggregateSpec.sumInts(UnsafeBufferPointer(rebasing: p[lo..<hi]))
        case .decimals(let p, let scale):
            let total = AggregateSpec.sumInts(UnsafeBufferPointer(rebasing: p[lo..<hi]))
            s.f += (Int64(exactly: total).map { Double($0) } ?? Double(total)) / scale
        case .floats(let p):
            s.f += AggregateSpec.sumFloats(UnsafeBufferPointer(rebasing: p[lo..<hi]))
        }
        s.n += Int64(hi - lo)
    }

    /// min/max of the non-empty rows [lo, hi), folded into `s` (as `updateExtremeWithoutNulls`).
    @inline(__always)
    func foldExtreme(_ s: inout AggregateState, _ lo: Int, _ hi: Int, min isMin: Bool) {
        switch self {
        case .ints(let p):
            AggregateSpec.foldExtreme(&s, AggregateSpec.extreme(UnsafeBufferPointer(rebasing: p[lo..<hi]), min: isMin), min: isMin)
        case .decimals(let p, let scale):
            // Division by 10^k is monotonic: the extreme integer gives the extreme value.
            let x = Double(AggregateSpec.extreme(UnsafeBufferPointer(rebasing: p[lo..<hi]), min: isMin)) / scale
            AggregateSpec.foldExtreme(&s, x, min: isMin)
        case .floats(let p):
            AggregateSpec.foldExtreme(&s, AggregateSpec.extreme(UnsafeBufferPointer(rebasing: p[lo..<hi]), min: isMin), min: isMin)
        }
    }

    /// Row `r` as an Int64 or a Float64's bit pattern (as `AggregateSpec.bits`).
    @inline(__always)
    func bits(_ r: Int) -> Int64 {
        switch self {
        case .ints(let p): p[r]
        case .floats(let p): Int64(bitPattern: p[r].bitPattern)
        case .decimals(let p, let scale): Int64(bitPattern: (Double(p[r]) / scale).bitPattern)
        }
    }
}
