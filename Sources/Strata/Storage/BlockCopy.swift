/// A scan's buffer for blocks read the first time by copying rather than through the mapping:
/// a block's header alone (`Snapshot.statsHeader`), or its header and the chunks a decode reads,
/// each at its place in the block (`Snapshot.decode`), a chunk in segments only through the
/// segments holding the rows read (`fill`). One block at a time, grown to the largest
/// copied; used by one thread; a header parsed from it is valid until the next copy.
///
/// The first touch of a mapped page is a page fault in which the kernel maps the 16 pages around
/// it (about 4.6 µs here); a pread(2) of a header costs about 1.2 µs, of a few KB a little more.
/// A fresh process that reads a header or a column or two of each of hundreds of blocks (an
/// aggregate from statistics, the latest row of every symbol) copies them; a block read again
/// goes through the mapping (`MappedRegion.firstRead`), whose pages then stay mapped.
final class BlockCopy {
    /// The most bytes of chunks a decode copies; with more, the block is read through the mapping
    /// (a copy costs more the more bytes it moves; a page fault maps its 16 pages whatever is read).
    static let chunkBytesMax = 16 * 1_024
    /// Bytes past the header read with it, so that the time chunk (first in the payload) comes in
    /// the same call: the last block's time chunk and a little more (a scan's blocks are mostly
    /// alike), 2 KB for the first. A call costs about 1.3 us here and each KB it copies 0.27 us more;
    /// minute bars' time chunks take ~90 bytes, which the fixed 2 KB read twenty times over.
    private var prefixExtra = 2_048
    /// The largest block copied (its chunks go at their places): a larger one is read through the mapping.
    static let bufferMax = 256 * 1_024

    private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4_096, alignment: 8)
    /// The block `block` copied last, for `fill`, and its chunks left for `fill` (bit k for chunk k).
    private var current: (region: MappedRegion, ref: BlockRef)?
    private(set) var deferred: UInt64 = 0

    /// Thrown by a decode whose deferred chunk `fill` could not copy; its caller reads the block
    /// through the mapping instead (never seen by a user).
    static let unfinished = StrataError(.io, "a block's copy could not be finished")

    deinit { buffer.deallocate() }

    /// The header of the block `ref` names, copied from `region` the first time the block is read
    /// and parsed without its payload (its chunks cannot be read through it); nil when it is not
    /// (the caller reads the mapping), or does not parse. A header of the schema's columns and the
    /// time column's is copied; a longer one (with chunks of dropped columns) is left to the mapping.
    func header(_ region: MappedRegion, _ ref: BlockRef, _ schema: Schema) -> BlockHeader? {
        guard region.firstRead(at: Int(ref.offset)) else { return nil }
        let guess = Self.headerGuess(ref, columns: schema.columns.count)
        reserve(guess)
        guard let bytes = copy(region, ref, 0..<guess), BlockHeader.statedHeaderBytes(bytes) <= guess else { return nil }
        return try? BlockHeader.parse(bytes, at: 0, end: bytes.count, schema: schema, payload: false)
    }

    /// The header of the block `ref` names with the chunks of its time column and of `columns`
    /// (indices into `schema`) copied after it at their places (`BlockHeader.copiedChunks`), the
    /// first time the block is read. Nil when the block is to be read through the mapping: read
    /// before, more than `chunkBytesMax` bytes of chunks, a predicted chunk among them (its decode
    /// reads the chunks it names too), a header longer than the schema's, or anything the copy
    /// finds wrong (the mapping's read then says what, as it always did).
    func block(_ region: MappedRegion, _ ref: BlockRef, _ schema: Schema, columns: [Int]) -> BlockHeader? {
        let length = Int(ref.length)
        current = nil
        deferred = 0
        guard length <= Self.bufferMax, region.firstRead(at: Int(ref.offset)) else { return nil }
        reserve(length)  // first: `h` reads the buffer, which must not move under it
        let prefix = min(length, Self.headerGuess(ref, columns: schema.columns.count) + prefixExtra)
        guard let head = copy(region, ref, 0..<prefix), BlockHeader.statedHeaderBytes(head) <= prefix,
            let h = try? BlockHeader.parse(head, at: 0, end: prefix, schema: schema, payload: false),
            let (mask, end) = Self.chunks(h, schema, columns: columns), end <= length
        else { return nil }
        prefixExtra = min(Self.chunkBytesMax, (Self.range(h, 0).upperBound - h.headerBytes + 64 + 63) & ~63)
        var later: UInt64 = 0
        for k in 0..<min(64, h.columnCount) where mask & (1 << UInt64(k)) != 0 {
            let range = Self.range(h, k)
            if range.upperBound <= prefix { continue }
            if Self.fillable(h.chunk(k)) {
                later |= 1 << UInt64(k)
            } else if copy(region, ref, range) == nil {
                return nil
            }
        }
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<max(end, prefix)])
        guard let whole = try? BlockHeader.parse(bytes, at: 0, end: bytes.count, schema: schema, payload: false) else { return nil }
        current = (region, ref)
        deferred = later
        return whole.copying(chunks: mask & ~later)
    }

    /// Whether a chunk is copied by `fill`, for the rows a decode reads, rather than whole: a
    /// number chunk in segments with no null row and no prediction, whose values part is the whole
    /// chunk (its table, then its miniblocks) and whose segments a decode reads are those holding
    /// the rows it wants (`Segments.decode`).
    private static func fillable(_ d: ChunkDescriptor) -> Bool {
        d.encoding.segmented && d.nullCount == 0 && d.type != .string && !d.encoding.has(Encoding.predicted)
    }

    /// Header `h` of the block `block` copied last, with its deferred chunk `k` copied for the
    /// decode of its values `values` (`Segments.decode` reads the table and the segments holding
    /// them): its first bytes, through the end of the last of those segments, the table giving
    /// where that is (an estimate from the segments' mean length first, the rest in a second call
    /// when it was short). Nil when the copy fails; the block is then read through the mapping.
    func fill(_ h: BlockHeader, chunk k: Int, values: Range<Int>) -> BlockHeader? {
        guard let (region, ref) = current, k < 64, deferred & (1 << UInt64(k)) != 0 else { return nil }
        let d = h.chunk(k)
        let range = Self.range(h, k)
        let count = Segments.count(values: h.rows)
        let table = count * Segments.entryBytes
        let miniblocks = Int(d.rawLength)
        guard range.count == table + miniblocks, count > 0 else { return nil }
        let last = values.isEmpty ? -1 : (values.upperBound - 1) / Segments.values
        // Through the end of segment `last`: the start of the next (or all of them for the last).
        var want = table + miniblocks
        if last + 1 < count {
            let guess = table + miniblocks / count * (last + 1) + miniblocks / count / 4 + 64
            want = min(want, guess)
        }
        guard copy(region, ref, range.lowerBound..<range.lowerBound + want) != nil else { return nil }
        if last + 1 < count {
            let at = range.lowerBound + (last + 1) * Segments.entryBytes
            let next = Int(UInt32(littleEndian: UnsafeRawBufferPointer(buffer).loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            let needed = table + min(next, miniblocks)
            if needed > want && copy(region, ref, range.lowerBound + want..<range.lowerBound + needed) == nil { return nil }
        }
        deferred &= ~(1 << UInt64(k))
        return h.copying(chunks: h.copiedChunksMask | 1 << UInt64(k))
    }

    /// The chunks a decode of `columns` reads (the time column's and theirs, as a mask) and where
    /// the last of them ends; nil when they are too many bytes, or a chunk is predicted or past 63.
    private static func chunks(_ h: BlockHeader, _ schema: Schema, columns: [Int]) -> (mask: UInt64, end: Int)? {
        var mask: UInt64 = 1
        var end = range(h, 0).upperBound
        var bytes = end - range(h, 0).lowerBound
        for c in columns {
            guard let k = h.chunkIndex(columnID: schema.columns[c].id, hint: c + 1) else { continue }
            let d = h.chunk(k)
            if k >= 64 || d.encoding.has(Encoding.predicted) { return nil }
            mask |= 1 << UInt64(k)
            bytes += Int(d.storedLength)
            end = max(end, range(h, k).upperBound)
        }
        return bytes <= chunkBytesMax ? (mask, end) : nil
    }

    /// Where chunk `k` lies in its block (`parse` checked it lies inside the payload).
    private static func range(_ h: BlockHeader, _ k: Int) -> Range<Int> {
        let d = h.chunk(k)
        let start = h.headerBytes + Int(d.offset)
        return start..<start + Int(d.storedLength)
    }

    private static func headerGuess(_ ref: BlockRef, columns: Int) -> Int {
        min(Int(ref.length), BlockFormat.fixedHeaderBytes + (columns + 1) * BlockFormat.descriptorBytes)
    }

    /// Room for `count` bytes (what the buffer held is not kept).
    private func reserve(_ count: Int) {
        guard count > buffer.count else { return }
        buffer.deallocate()
        buffer = .allocate(byteCount: count, alignment: 8)
    }

    /// Bytes `range` of the block copied to the same place in the buffer, which has room for them.
    private func copy(_ region: MappedRegion, _ ref: BlockRef, _ range: Range<Int>) -> UnsafeRawBufferPointer? {
        precondition(range.upperBound <= buffer.count)
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[range])
        return region.copy(target, at: Int(ref.offset) + range.lowerBound) ? UnsafeRawBufferPointer(target) : nil
    }
}
