/// The first value in `range` at which `isPast` holds, or `range.upperBound` when it holds nowhere.
/// `isPast` must be false and then true along the range (the range is partitioned by it). Every
/// binary search in Strata is this one: blocks by time, rows by time, zone transitions, local times.
@inline(__always)
func partitionPoint<I: BinaryInteger>(in range: Range<I>, _ isPast: (I) -> Bool) -> I {
    var lo = range.lowerBound, hi = range.upperBound
    while lo < hi {
        let mid = lo + (hi - lo) / 2
        if isPast(mid) { hi = mid } else { lo = mid + 1 }
    }
    return lo
}

/// `partitionPoint` for a point expected near the start of the range: steps from `range.lowerBound`
/// double until they pass it (galloping), then the last step is searched. SAMPLE BY uses it for
/// bucket ends, as buckets hold many rows.
@inline(__always)
func gallopingPartitionPoint(in range: Range<Int>, _ isPast: (Int) -> Bool) -> Int {
    var lo = range.lowerBound, hi = range.lowerBound, step = 1
    while hi < range.upperBound && !isPast(hi) {
        lo = hi + 1
        hi += step
        step <<= 1
    }
    return partitionPoint(in: lo..<min(hi, range.upperBound), isPast)
}
