extension Array where Element: BitwiseCopyable {
    /// Makes the array `n` elements long for a decoder to overwrite: the values are unspecified
    /// afterwards (those it keeps when shrinking keep their values; when it grows, none is copied
    /// and none is zeroed). For buffers whose rows are written before any is read: decode buffers
    /// (a decoder writes the rows it is asked for) and the writer's prediction residuals. Zeroing
    /// first touched every page of a fresh buffer, a page fault each (3-4 us on this machine), in a
    /// process's first query: with this, the faults in a one-day scan's query went from 115 to 25
    /// (with two changes beside it). Copying the old values on growth was 1.3% of a full scan's
    /// instructions (a symbol's last, shorter block, then the next symbol's full one).
    mutating func resizeForOverwrite(to n: Int) {
        precondition(n >= 0)
        if count > n {
            removeLast(count - n)
        } else if count < n {
            self = Array(unsafeUninitializedCapacity: n) { _, initialized in initialized = n }
        }
    }
}
