extension Array {
    /// `source[i]` for each `i` of `indices`, in order, each checked to lie in `source`: the gather
    /// of an as-of join's joined columns, of result rows, and of a Parquet dictionary's values,
    /// copied through buffer pointers. `indices.map { source[$0] }` on the as-of join's slices cost
    /// about 40 instructions a row (values and validity), this about 16 (Q8: 5.06 M → 1.96 M).
    init<I: BinaryInteger>(gathering source: UnsafeBufferPointer<Element>, at indices: UnsafeBufferPointer<I>) {
        // None is the empty array: `init(unsafeUninitializedCapacity: 0)` stores its count into the
        // storage every empty array shares, a write that races with other threads' reads of it
        // (ThreadSanitizer reported it: a filter that kept no row of an as-of join's batch).
        guard !indices.isEmpty else {
            self.init()
            return
        }
        self.init(unsafeUninitializedCapacity: indices.count) { out, count in
            Self.gather(source, indices, into: out.baseAddress)
            count = indices.count
        }
    }

    /// `init(gathering:at:)` from an array.
    init<I: BinaryInteger>(gathering source: [Element], at indices: [I]) {
        self = source.withUnsafeBufferPointer { s in indices.withUnsafeBufferPointer { Array(gathering: s, at: $0) } }
    }

    /// `init(gathering:at:)` from a slice (indices count from its start).
    init<I: BinaryInteger>(gathering source: ArraySlice<Element>, at indices: [I]) {
        self = source.withUnsafeBufferPointer { s in indices.withUnsafeBufferPointer { Array(gathering: s, at: $0) } }
    }

    /// Initializes `out[k]` to `source[indices[k]]` for every k.
    private static func gather<I: BinaryInteger>(
        _ source: UnsafeBufferPointer<Element>, _ indices: UnsafeBufferPointer<I>, into out: UnsafeMutablePointer<Element>?
    ) {
        for (k, index) in indices.enumerated() {
            let i = Int(index)
            precondition(i >= 0 && i < source.count, "index \(i) outside the \(source.count) gathered from")
            (out! + k).initialize(to: source[i])
        }
    }
}

extension Array where Element: BitwiseCopyable {
    /// Appends what `init(gathering:at:)` gives, written in place (a Parquet column takes a
    /// dictionary page's values this way: through a new array, each value was copied twice).
    mutating func append<I: BinaryInteger>(gathering source: [Element], at indices: [I]) {
        guard let filler = source.first, !indices.isEmpty else {
            precondition(indices.isEmpty, "indices into an empty array")
            return
        }
        let start = count
        append(contentsOf: repeatElement(filler, count: indices.count))
        source.withUnsafeBufferPointer { s in
            indices.withUnsafeBufferPointer { ix in
                withUnsafeMutableBufferPointer { out in Self.gather(s, ix, into: out.baseAddress! + start) }
            }
        }
    }
}
