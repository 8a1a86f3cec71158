extension Array where Element: BitwiseCopyable {
    /// Makes the array `n` elements long. Elements it keeps keep their values; elements it adds are
    /// left as the allocator gave them, not zeroed. For decode buffers only: a decoder writes the rows
    /// it is asked for before any of them is read. Zeroing first touched every page of a fresh buffer,
    /// a page fault each (3-4 us on this machine), in a process's first query: with this, the
    /// faults in a one-day scan's query went from 115 to 25 (with two changes beside it).
    mutating func resizeLeavingNewElementsUnset(to n: Int) {
        precondition(n >= 0)
        if count > n {
            removeLast(count - n)
        } else if count < n {
            let old = self
            self = Array(unsafeUninitializedCapacity: n) { buffer, initialized in
                old.withUnsafeBufferPointer { source in
                    if let from = source.baseAddress, let to = buffer.baseAddress { to.initialize(from: from, count: source.count) }
                }
                initialized = n
            }
        }
    }
}
