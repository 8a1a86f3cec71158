/// A symbol's block index: a value that appends in O(1) and replaces a range of blocks (an insert,
/// a removal, or both) copying only the new references, however many snapshots share it.
///
/// Blocks live in segments of `segmentSize` slots that never move and whose slots are written once.
/// A list is a sequence of views, each a stretch of one segment; lists share segments. Appending
/// writes the next slot of the last view's segment when that view ends exactly at the segment's
/// written slots (so no list sees the slot), else starts a segment: it copies nothing but, once per
/// `segmentSize` blocks, the small array of views. (With `[BlockRef]`, every commit copied the
/// whole index of each symbol it touched, because the published snapshot shared it: quadratic in
/// the number of small commits.) Replacing a range keeps the views on both sides, cut at the range,
/// and puts the new blocks in fresh segments between them: late rows inserted at the start of a
/// long index cost as little as rows appended at its end. A list stays regular (every view a whole
/// segment but the last, found by a shift) until a replacement; others find a view by a binary
/// search. Compaction builds its lists afresh (regular again).
struct BlockList: RandomAccessCollection, Sendable {
    static let segmentShift = 10
    static let segmentSize = 1 << segmentShift
    static let firstSegmentSize = 8

    /// `@unchecked`: `slots` and `written` change only in the writer, under its lock, and only past
    /// the slots any list can see; a list is published after the slots it sees are written.
    final class Segment: @unchecked Sendable {
        let slots: UnsafeMutablePointer<BlockRef>
        let capacity: Int
        /// Slots written so far (readers never look at this).
        var written = 0

        /// Appends get whole segments; an edit's fresh references get a segment of their size.
        init(capacity: Int = BlockList.segmentSize) {
            self.capacity = capacity
            slots = UnsafeMutablePointer<BlockRef>.allocate(capacity: capacity)
        }

        deinit { slots.deallocate() }
    }

    private struct View {
        var segment: Segment
        var start: Int
        var count: Int
    }

    private var views: [View] = []
    /// `starts[k]`: the index in this list of view k's first block; kept once the list is not
    /// regular (an array less to allocate for each symbol's list when a catalog is built).
    private var starts: [Int] = []
    private(set) var count = 0
    /// Every view starts its segment, and all but the last fill it: view k starts at `k << segmentShift`.
    private var regular = true

    init() {}

    init(_ refs: some Sequence<BlockRef>) {
        for r in refs { append(r) }
    }

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    subscript(i: Int) -> BlockRef {
        precondition(i >= 0 && i < count, "block index \(i) out of range 0..<\(count)")
        if regular { return views[i >> Self.segmentShift].segment.slots[i & (Self.segmentSize - 1)] }
        let k = view(containing: i)
        return views[k].segment.slots[views[k].start + i - starts[k]]
    }

    /// The view that holds index `i` (< count).
    private func view(containing i: Int) -> Int {
        partitionPoint(in: 0..<views.count) { starts[$0] > i } - 1
    }

    /// Writes the slot after this list's last block when no list can see it, else starts a segment.
    /// A list's first segment starts with `firstSegmentSize` slots and is copied into one twice as
    /// large while it is the list's only one and smaller than `segmentSize` (a symbol of a few
    /// blocks takes a few hundred bytes, not 40 KB: a 500-symbol catalog touched 1,000 fresh pages).
    mutating func append(_ ref: BlockRef) {
        if let last = views.last, last.start + last.count == last.segment.written, last.segment.written < last.segment.capacity {
            last.segment.slots.advanced(by: last.segment.written).initialize(to: ref)
            last.segment.written += 1
            views[views.count - 1].count += 1
        } else if views.count == 1, views[0].start == 0, views[0].segment.capacity < Self.segmentSize {
            let old = views[0]
            let s = Segment(capacity: Swift.min(old.segment.capacity * 2, Self.segmentSize))
            s.slots.initialize(from: old.segment.slots, count: old.count)
            s.slots.advanced(by: old.count).initialize(to: ref)
            s.written = old.count + 1
            views[0] = View(segment: s, start: 0, count: old.count + 1)
        } else {
            if let last = views.last, last.start != 0 || last.count != Self.segmentSize { makeIrregular() }
            let s = Segment(capacity: views.isEmpty ? Self.firstSegmentSize : Self.segmentSize)
            s.slots.initialize(to: ref)
            s.written = 1
            views.append(View(segment: s, start: 0, count: 1))
            if !regular { starts.append(count) }
        }
        count += 1
    }

    /// Replaces blocks `range` with `refs`. The views on both sides are kept (cut at the range); the
    /// new references, and the neighbouring stretches shorter than `coalesceMax`, are written into
    /// fresh segments: an edit copies fewer than `2 × coalesceMax` references besides its own, and
    /// views stay long (a list of n blocks has about n / `coalesceMax` views however it was edited).
    mutating func replaceSubrange(_ range: Range<Int>, with refs: [BlockRef]) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "block range \(range) out of 0..<\(count)")
        if range.lowerBound == count && (views.last.map { $0.count >= Self.coalesceMax } ?? true) {
            for r in refs { append(r) }
            return
        }
        makeIrregular()
        // Views first ..< end are replaced by: the kept head of view `first`, fresh segments holding
        // `middle`, and the kept tail of the view the range ends in.
        var first = range.lowerBound == count ? views.count : view(containing: range.lowerBound)
        var end = range.upperBound == count ? views.count : view(containing: range.upperBound)
        var middle: [BlockRef] = []
        middle.reserveCapacity(refs.count + 2 * Self.coalesceMax)
        var replacement: [View] = []
        if first < views.count && range.lowerBound > starts[first] {
            let n = range.lowerBound - starts[first]
            if n < Self.coalesceMax {
                copy(first, from: 0, count: n, into: &middle)
            } else {
                replacement.append(View(segment: views[first].segment, start: views[first].start, count: n))
            }
        } else if first > 0 && views[first - 1].count < Self.coalesceMax {
            first -= 1
            copy(first, from: 0, count: views[first].count, into: &middle)
        }
        middle.append(contentsOf: refs)
        var tail: View? = nil
        if end < views.count {
            let skip = range.upperBound - starts[end]
            let n = views[end].count - skip
            if n < Self.coalesceMax {
                copy(end, from: skip, count: n, into: &middle)
                if end + 1 < views.count && views[end + 1].count < Self.coalesceMax {
                    end += 1
                    copy(end, from: 0, count: views[end].count, into: &middle)
                }
            } else {
                tail = View(segment: views[end].segment, start: views[end].start + skip, count: n)
            }
            end += 1
        }
        var i = 0
        while i < middle.count {
            let n = Swift.min(Self.segmentSize, middle.count - i)
            let s = Segment(capacity: n)
            for j in 0..<n { s.slots.advanced(by: j).initialize(to: middle[i + j]) }
            s.written = n
            replacement.append(View(segment: s, start: 0, count: n))
            i += n
        }
        if let tail { replacement.append(tail) }
        views.replaceSubrange(first..<end, with: replacement)
        // Starts from the first replaced view on.
        starts.removeSubrange(first...)
        var position = first > 0 ? starts[first - 1] + views[first - 1].count : 0
        for k in first..<views.count {
            starts.append(position)
            position += views[k].count
        }
        count = position
    }

    /// Ends the list's regular layout, writing the starts of its views (view k's is `k << segmentShift`).
    private mutating func makeIrregular() {
        guard regular else { return }
        regular = false
        starts.removeAll(keepingCapacity: true)
        for k in 0..<views.count { starts.append(k << Self.segmentShift) }
    }

    /// Appends `n` references of view `k`, from its `from`-th, to `out`.
    private func copy(_ k: Int, from: Int, count n: Int, into out: inout [BlockRef]) {
        let v = views[k]
        for j in 0..<n { out.append(v.segment.slots[v.start + from + j]) }
    }

    /// Views shorter than this are copied into the fresh segment of an edit next to them.
    static let coalesceMax = 32

}
