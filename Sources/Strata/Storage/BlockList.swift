/// A symbol's block index: a value that appends in O(1), and replaces a range of blocks copying at
/// most two segments, however many snapshots share it.
///
/// Blocks live in segments of up to `segmentSize` slots that never move. Every list sharing a
/// segment sees only its own stretch of it (`starts` and `count` say which), and the lists are
/// versions of one history: the writer appends (under its lock) past the end of the newest list,
/// into slots no other list can see, so appending copies nothing but, once per `segmentSize`
/// blocks, the small array of segment references. (With `[BlockRef]`, every commit copied the whole
/// index of each symbol it touched, because the published snapshot shared it: quadratic in the
/// number of small commits.) Replacing a range (late rows merged into the blocks they overlap, a
/// range deleted) rebuilds only the segments that hold the ends of the range; the segments between
/// and after are shared as they are. A list that is not a version of the history, such as
/// compaction's, is built from fresh segments.
struct BlockList: RandomAccessCollection, Sendable {
    static let segmentShift = 10
    static let segmentSize = 1 << segmentShift

    /// `@unchecked`: slots are written only by the writer, under its lock, before any list that can
    /// see them is published, and never written again while a list can see them.
    final class Segment: @unchecked Sendable {
        let slots = UnsafeMutablePointer<BlockRef>.allocate(capacity: BlockList.segmentSize)
        deinit { slots.deallocate() }
    }

    private var segments: [Segment] = []
    /// `starts[k]`: the index in this list of segment k's first slot.
    private var starts: [Int] = []
    private(set) var count = 0
    /// Every segment but the last is full, so segment k starts at `k << segmentShift`.
    private var regular = true

    init() {}

    init(_ refs: some Sequence<BlockRef>) {
        for r in refs { append(r) }
    }

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    subscript(i: Int) -> BlockRef {
        precondition(i >= 0 && i < count, "block index \(i) out of range 0..<\(count)")
        if regular { return segments[i >> Self.segmentShift].slots[i & (Self.segmentSize - 1)] }
        let k = segment(containing: i)
        return segments[k].slots[i - starts[k]]
    }

    /// The segment that holds index `i` (< count).
    private func segment(containing i: Int) -> Int {
        partitionPoint(in: 0..<segments.count) { starts[$0] > i } - 1
    }

    /// The number of this list's blocks in segment `k`.
    private func length(_ k: Int) -> Int {
        (k + 1 < segments.count ? starts[k + 1] : count) - starts[k]
    }

    /// Writes the slot after this list's last block, which no other list can see (see the type's comment).
    mutating func append(_ ref: BlockRef) {
        if segments.isEmpty || length(segments.count - 1) == Self.segmentSize {
            segments.append(Segment())
            starts.append(count)
        }
        let k = segments.count - 1
        segments[k].slots.advanced(by: count - starts[k]).initialize(to: ref)
        count += 1
    }

    /// Replaces blocks `range` with `refs`. Only the segments holding the ends of the range are
    /// copied; the others are shared with the lists this one came from.
    mutating func replaceSubrange(_ range: Range<Int>, with refs: [BlockRef]) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "block range \(range) out of 0..<\(count)")
        if range.lowerBound == count {
            for r in refs { append(r) }
            return
        }
        let first = segment(containing: range.lowerBound)
        let last = range.upperBound == count ? segments.count - 1 : segment(containing: range.upperBound)
        // The kept blocks of the end segments around the new ones.
        var middle: [BlockRef] = []
        middle.reserveCapacity(refs.count + 2 * Self.segmentSize)
        for i in starts[first]..<range.lowerBound { middle.append(self[i]) }
        middle.append(contentsOf: refs)
        for i in range.upperBound..<(starts[last] + length(last)) { middle.append(self[i]) }
        let after = (last + 1..<segments.count).map { (segments[$0], length($0)) }
        var rebuilt = BlockList()
        rebuilt.segments = Array(segments[..<first])
        rebuilt.starts = Array(starts[..<first])
        rebuilt.count = starts[first]
        var i = 0
        while i < middle.count {
            let n = Swift.min(Self.segmentSize, middle.count - i)
            let s = Segment()
            for j in 0..<n { s.slots.advanced(by: j).initialize(to: middle[i + j]) }
            rebuilt.segments.append(s)
            rebuilt.starts.append(rebuilt.count)
            rebuilt.count += n
            i += n
        }
        for (s, n) in after {
            rebuilt.segments.append(s)
            rebuilt.starts.append(rebuilt.count)
            rebuilt.count += n
        }
        rebuilt.regular = rebuilt.segments.indices.dropLast().allSatisfy { rebuilt.length($0) == Self.segmentSize }
        self = rebuilt
    }
}
