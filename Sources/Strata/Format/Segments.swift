/// The segments layout of a bit-packed chunk (format 6; Format.md, "The segments layout"): the
/// miniblocks are cut into segments of 2,048 values, and a table in front of them gives, per
/// segment, where its bytes start, the running value before its first value and the checksum of
/// its bytes. A read of a few rows checks and unpacks only the segments that hold them, from the
/// running value the table gives, where a chunk in one piece is checksummed whole and summed from
/// an end.
enum Segments {
    /// Values a segment holds (the last may hold fewer): 16 miniblocks.
    static let values = 16 * Encoding.miniblockValues
    /// A table entry: `u32` offset of the segment in the miniblocks, `i64` running value before
    /// it, `u64` XXH64 of its bytes.
    static let entryBytes = 20

    /// Segments of a chunk of `count` values.
    static func count(values count: Int) -> Int { (count + values - 1) / values }

    /// Whether the writer stores a bit-packed chunk of `count` values without LZ4 in segments:
    /// when it has two or more.
    static func worthwhile(values count: Int) -> Bool { count > values }

    /// The table for `miniblocks` (the bit-packed bytes of `x.count` values): segment s starts at
    /// the miniblock of value 2,048 s, its running value is `x` of the value before it with a
    /// running sum or xor (`accumulates`), else 0.
    static func table(_ miniblocks: [UInt8], _ x: [UInt64], accumulates: Bool) -> [UInt8] {
        let n = x.count
        let s = count(values: n)
        var w = ByteWriter(capacity: s * entryBytes)
        var starts: [Int] = []
        var pos = 0
        for i in stride(from: 0, to: n, by: Encoding.miniblockValues) {
            if i % values == 0 { starts.append(pos) }
            let c = min(Encoding.miniblockValues, n - i)
            pos += 1 + (c * Int(miniblocks[pos]) + 7) / 8
        }
        precondition(pos == miniblocks.count && starts.count == s)
        miniblocks.withUnsafeBytes { bytes in
            for k in 0..<s {
                let end = k + 1 < s ? starts[k + 1] : miniblocks.count
                w.u32(UInt32(starts[k]))
                w.i64(k > 0 && accumulates ? Int64(bitPattern: x[k * values - 1]) : 0)
                w.u64(XXH64.hash(UnsafeRawBufferPointer(rebasing: bytes[starts[k]..<end])))
            }
        }
        return w.bytes
    }

    /// A chunk's table, read in place and checked: entry 0 starts at 0 with running value 0, and
    /// the segments' starts ascend within the miniblocks.
    struct Table {
        let bytes: UnsafeRawBufferPointer
        let count: Int
        let miniblockBytes: Int
        /// The chunk's miniblocks, which follow the table.
        let miniblocks: UnsafeRawBufferPointer

        init(_ stored: UnsafeRawBufferPointer, values: Int, miniblockBytes: Int, what: () -> String) throws(StrataError) {
            count = Segments.count(values: values)
            self.miniblockBytes = miniblockBytes
            guard stored.count == count * entryBytes + miniblockBytes else {
                throw .damaged("\(what()): \(stored.count) bytes cannot hold \(count) segments and \(miniblockBytes) bytes of miniblocks")
            }
            bytes = UnsafeRawBufferPointer(rebasing: stored[0..<count * entryBytes])
            miniblocks = UnsafeRawBufferPointer(rebasing: stored[(count * entryBytes)...])
            var previous = 0
            for k in 0..<count {
                let start = Int(field(k, 0, as: UInt32.self))
                if (k == 0 && (start != 0 || anchor(0) != 0)) || start < previous || start > miniblockBytes {
                    throw .damaged("\(what()): segment \(k) starts at byte \(start), out of order")
                }
                previous = start
            }
        }

        private func field<T: FixedWidthInteger>(_ k: Int, _ at: Int, as: T.Type) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: k * entryBytes + at, as: T.self))
        }

        /// The bytes of segment `k` within the miniblocks.
        func range(_ k: Int) -> Range<Int> {
            Int(field(k, 0, as: UInt32.self))..<(k + 1 < count ? Int(field(k + 1, 0, as: UInt32.self)) : miniblockBytes)
        }

        /// The running value before segment `k`'s first value.
        func anchor(_ k: Int) -> Int64 { field(k, 4, as: Int64.self) }

        /// The checksum of segment `k`'s bytes.
        func hash(_ k: Int) -> UInt64 { field(k, 12, as: UInt64.self) }

        /// Segment `k`'s bytes, checked against its checksum first when `check` is set.
        func segment(_ k: Int, check: Bool, what: () -> String) throws(StrataError) -> UnsafeRawBufferPointer {
            let segment = UnsafeRawBufferPointer(rebasing: miniblocks[range(k)])
            if check && XXH64.hash(segment) != hash(k) { throw .damaged("\(what()): checksum mismatch in segment \(k)") }
            return segment
        }
    }

    /// Decodes the values `window` of a chunk's values part (before step 1, the decimal step):
    /// only the segments holding them are checked against their checksums (with `check`, as the
    /// chunk's own checksum is) and unpacked. Each is unpacked from the running value its table
    /// entry gives, or, when that is fewer values, from the miniblock of its first value wanted to
    /// its end, whose running value is the next entry's (or `last`, the chunk's, for the last
    /// segment): `ColumnCodec.span` and `rebase`, as a chunk in one piece is read from its end. A
    /// segment unpacked from its start to its end must end on the running value the next one starts from.
    static func decode(
        _ stored: UnsafeRawBufferPointer, encoding: Encoding, rawLength: Int, rows n: Int, window: Range<Int>, last: Int64?,
        into out: UnsafeMutableBufferPointer<Int64>, check: Bool, what: () -> String
    ) throws(StrataError) {
        if !encoding.has(Encoding.bitpack) || encoding.has(Encoding.lz4) || encoding.has(Encoding.shuffle) {
            throw .damaged("\(what()): segments of a chunk that is not bit-packed without LZ4")
        }
        let table = try Table(stored, values: n, miniblockBytes: rawLength, what: what)
        if window.isEmpty { return }
        let mode: ColumnCodec.Accumulate = encoding.has(Encoding.delta) ? .delta : encoding.has(Encoding.xor) ? .xor : .none
        for k in window.lowerBound / values...(window.upperBound - 1) / values {
            let bytes = try table.segment(k, check: check, what: what)
            let base = k * values, count = min(values, n - base)
            let store = max(window.lowerBound, base) - base..<min(window.upperBound, base + count) - base
            let segmentEnd = k + 1 < table.count ? table.anchor(k + 1) : last
            let span = ColumnCodec.span(store, rows: count, mode: mode, last: segmentEnd, align: Encoding.miniblockValues)
            let fromEnd = span.lowerBound > 0 && mode != .none
            let into = UnsafeMutableBufferPointer(rebasing: out[base..<base + count])
            guard
                let end = Bitpack.unpack(
                    bytes, count: count, range: span, store: store, start: fromEnd ? 0 : table.anchor(k), into: into,
                    zigzag: encoding.has(Encoding.zigzag), divisor: encoding.divisor, mode: mode)
            else { throw .damaged("\(what()): bit-packed data is malformed in segment \(k)") }
            if fromEnd, let segmentEnd {
                ColumnCodec.rebase(into, store, end: end, last: segmentEnd, mode: mode)
            } else if store.upperBound == count && k + 1 < table.count && end != table.anchor(k + 1) {
                throw .damaged("\(what()): segment \(k) does not end on the running value segment \(k + 1) starts from")
            }
        }
    }

    /// Checks every segment of a chunk's values part against its checksum (a whole-chunk check:
    /// `strata verify`, compaction).
    static func checkAll(_ stored: UnsafeRawBufferPointer, values: Int, miniblockBytes: Int, what: () -> String) throws(StrataError) {
        let table = try Table(stored, values: values, miniblockBytes: miniblockBytes, what: what)
        for k in 0..<table.count { _ = try table.segment(k, check: true, what: what) }
    }
}
