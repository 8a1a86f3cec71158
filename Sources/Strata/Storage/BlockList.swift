/// A symbol's block index: a value that appends in O(1) however many snapshots share it.
///
/// Blocks live in fixed segments that never move. Every list sharing a segment sees only its own `count`
/// entries, and the lists are prefixes of one history: the writer appends (under its lock) past the
/// longest committed list, into slots no other list can see, so appending copies nothing but, once
/// per `segmentSize` blocks, the small array of segment references. (With `[BlockRef]`, every commit
/// copied the whole index of each symbol it touched, because the published snapshot shared it:
/// quadratic in the number of small commits.) A list that is not a prefix of the history, such as
/// compaction's, is built from fresh segments.
struct BlockList: RandomAccessCollection, Sendable {
    static let segmentShift = 10
    static let segmentSize = 1 << segmentShift

    /// `@unchecked`: slots are written only by the writer, under its lock, before any list that can
    /// see them is published, and never written again.
    final class Segment: @unchecked Sendable {
        let slots = UnsafeMutablePointer<BlockRef>.allocate(capacity: BlockList.segmentSize)
        deinit { slots.deallocate() }
    }

    private var segments: [Segment] = []
    private(set) var count = 0

    init() {}

    init(_ refs: some Sequence<BlockRef>) {
        for r in refs { append(r) }
    }

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    subscript(i: Int) -> BlockRef {
        precondition(i >= 0 && i < count, "block index out of range")
        return segments[i >> Self.segmentShift].slots[i & (Self.segmentSize - 1)]
    }

    /// Writes slot `count`, which no list sharing these segments can see (see the type's comment).
    mutating func append(_ ref: BlockRef) {
        if count & (Self.segmentSize - 1) == 0 {
            if segments.count > count >> Self.segmentShift {
                segments.removeLast(segments.count - (count >> Self.segmentShift))  // a longer, abandoned history
            }
            segments.append(Segment())
        }
        segments[count >> Self.segmentShift].slots.advanced(by: count & (Self.segmentSize - 1)).initialize(to: ref)
        count += 1
    }
}
