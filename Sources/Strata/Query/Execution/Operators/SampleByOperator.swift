// SAMPLE BY: time buckets (fixed, or aligned to a time zone's calendar), the search for a
// bucket's end in sorted times, and FILL of the empty buckets between a series' first and last.

/// Time buckets of SAMPLE BY: `step` units wide, aligned to the epoch on the local clock of `zone`
/// (UTC when nil). Keys are bucket starts on the local clock; `start` converts one to a time.
/// With a trading calendar (`ALIGN TO SESSION`), buckets are cut from each session's start instead,
/// and keys are times (the rows outside every session are filtered out before).
struct Bucketer {
    var step: Int64
    var perSecond: Int64
    var zone: ZoneRules?
    var calendar: TradingCalendar? = nil

    func offset(at t: Int64) -> Int64 {
        guard let zone else { return 0 }
        return zone.offset(at: floorDiv(t, perSecond)) * perSecond
    }

    @inline(__always)
    func bucket(_ t: Int64) -> Int64 {
        if let calendar {
            var cursor = TradingCalendar.Cursor()
            return calendar.bucket(t, step: step, perSecond: perSecond, cursor: &cursor) ?? .min
        }
        let local = t &+ offset(at: t)
        return floorDiv(local, step) &* step
    }

    /// The offset (in units) in force for every time in [first, last], if there is one.
    func fixedOffset(from first: Int64, through last: Int64) -> Int64? {
        if calendar != nil { return nil }
        guard let zone else { return 0 }
        let span = zone.stableSpan(at: floorDiv(first, perSecond))
        return span.contains(floorDiv(last, perSecond)) ? zone.offset(at: floorDiv(first, perSecond)) * perSecond : nil
    }

    /// Local bucket starts of times in order or not; the zone is consulted once per stable stretch.
    func buckets(_ times: ArraySlice<Int64>) -> [Int64] {
        var out = [Int64](repeating: 0, count: times.count)
        if let calendar {
            var cursor = TradingCalendar.Cursor()
            for (k, t) in times.enumerated() { out[k] = calendar.bucket(t, step: step, perSecond: perSecond, cursor: &cursor) ?? .min }
            return out
        }
        guard let zone else {
            for (k, t) in times.enumerated() { out[k] = floorDiv(t, step) &* step }
            return out
        }
        var span: Range<Int64> = 0..<0
        var off: Int64 = 0
        for (k, t) in times.enumerated() {
            let sec = floorDiv(t, perSecond)
            if !span.contains(sec) {
                span = zone.stableSpan(at: sec)
                off = zone.offset(at: sec) * perSecond
            }
            out[k] = floorDiv(t &+ off, step) &* step
        }
        return out
    }

    /// The time a local bucket start stands for.
    func start(_ local: Int64) -> Int64 {
        guard let zone, calendar == nil else { return local }
        let sec = floorDiv(local, perSecond)
        return zone.utc(ofLocal: sec) * perSecond + floorMod(local, perSecond)
    }
}

extension Plan {
    /// Rows FILL may add to one result.
    static let fillRowsMax = 10_000_000

    /// The first row at or after `from` whose time is ≥ `end` (n when none), in sorted times: a
    /// galloping search, as buckets hold many rows.
    static func firstAtOrAfter(_ t: ArraySlice<Int64>, _ end: Int64, from: Int) -> Int {
        let base = t.startIndex
        return gallopingPartitionPoint(in: from..<max(from, t.count)) { t[base + $0] >= end }
    }

    /// Inserts the empty buckets between a series' first and last bucket, with values per FILL.
    static func fill(_ keys: [GroupKey], _ values: [[ResultValue]], _ a: AggregationPlan, _ step: Int64) throws(StrataError) -> ([GroupKey], [[ResultValue]]) {
        var outKeys: [GroupKey] = []
        var outValues: [[ResultValue]] = []
        var added = 0
        let specs = a.aggregates
        func mode(_ k: Int) -> SampleBy.Fill { a.fill.count == 1 ? a.fill[0] : a.fill[k] }
        for i in keys.indices {
            if i > 0, sameBytes(keys[i - 1].symbol, keys[i].symbol), keys[i - 1].extras == keys[i].extras {
                let (b0, b1) = (keys[i - 1].bucket, keys[i].bucket)
                let gaps = (b1 - b0) / step - 1
                if gaps > 0 {
                    added += Int(gaps)
                    if added > fillRowsMax { throw .badInput("FILL would add more than \(fillRowsMax) rows") }
                    var previous = values[i - 1]
                    var bucket = b0 + step
                    var k = 1
                    while bucket < b1 {
                        var row: [ResultValue] = []
                        for (c, spec) in specs.enumerated() {
                            switch mode(c) {
                            case .none, .null: row.append(.null)
                            case .prev: row.append(previous[c])
                            case .constant(let x):
                                if spec.type == .int64, let v = Int64(exactly: x) { row.append(.int(v)) } else { row.append(.float(x)) }
                            case .linear:
                                let f = Double(k) / Double(gaps + 1)
                                switch (values[i - 1][c], values[i][c]) {
                                case (.int(let x), .int(let y)): row.append(.int(x + Int64((Double(y - x) * f).rounded(.towardZero))))
                                case (let x, let y):
                                    if let p = x.double, let q = y.double { row.append(.float(p + (q - p) * f)) } else { row.append(.null) }
                                }
                            }
                        }
                        if a.fill.contains(.none) {
                            // Mixed NONE with other fills: the bucket is left out.
                        } else {
                            outKeys.append(GroupKey(symbol: keys[i].symbol, bucket: bucket, extras: keys[i].extras, symbolID: keys[i].symbolID))
                            outValues.append(row)
                        }
                        previous = row
                        bucket += step
                        k += 1
                    }
                }
            }
            outKeys.append(keys[i])
            outValues.append(values[i])
        }
        return (outKeys, outValues)
    }
}
