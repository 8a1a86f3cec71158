import CStrataKernels

/// Parquet's value and level encodings (Encodings.md): the RLE/bit-packed hybrid (levels and
/// dictionary indices), DELTA_BINARY_PACKED and BYTE_STREAM_SPLIT. Decoders check every length
/// against the bytes they have and throw `ParquetEncoding.Malformed`; nothing traps on bad input.
enum ParquetEncoding {
    struct Malformed: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    /// The bits needed for values up to `maxValue`.
    static func bitWidth(_ maxValue: UInt64) -> Int { maxValue == 0 ? 0 : 64 - maxValue.leadingZeroBitCount }

    // MARK: RLE / bit-packed hybrid

    /// Encodes `values` (each below 2^width) as the hybrid: runs of 8 or more equal values as RLE runs,
    /// the rest bit-packed in groups of 8 (the last group padded with zeros). The literals between
    /// runs are always a stretch of the input, so they are packed from it in place.
    static func encodeHybrid<C: RandomAccessCollection<UInt32>>(_ values: C, width: Int, into out: inout [UInt8]) where C.Index == Int {
        var literals = values.startIndex  // the literals are values[literals..<i]
        var i = values.startIndex
        while i < values.endIndex {
            let v = values[i]
            var run = 1
            while i + run < values.endIndex && values[i + run] == v { run += 1 }
            // A run breaks the literals only at a multiple of 8: top them up from the run first.
            let pending = i - literals
            let fill = pending % 8 == 0 ? 0 : min(run, 8 - pending % 8)
            if run - fill >= 8 {
                packed(values[literals..<(i + fill)], width: width, into: &out)
                rleRun(v, count: run - fill, width: width, into: &out)
                literals = i + run
            }
            i += run
        }
        packed(values[literals..<i], width: width, into: &out)
    }

    private static func rleRun(_ value: UInt32, count: Int, width: Int, into out: inout [UInt8]) {
        varint(UInt64(count) << 1, into: &out)
        var v = value
        for _ in 0..<(width + 7) / 8 {
            out.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    /// Bit-packed groups of 8 of `literals`, the last padded with zeros.
    private static func packed<C: Collection<UInt32>>(_ literals: C, width: Int, into out: inout [UInt8]) {
        if literals.isEmpty { return }
        let groups = (literals.count + 7) / 8
        varint(UInt64(groups) << 1 | 1, into: &out)
        var acc: UInt64 = 0
        var bits = 0
        for v in literals {
            acc |= UInt64(v) &<< UInt64(bits)
            bits += width
            if bits >= 32 {  // four bytes at a time: width is at most 32, so acc never overflows
                let word = UInt32(truncatingIfNeeded: acc)
                out.append(UInt8(truncatingIfNeeded: word))
                out.append(UInt8(truncatingIfNeeded: word >> 8))
                out.append(UInt8(truncatingIfNeeded: word >> 16))
                out.append(UInt8(truncatingIfNeeded: word >> 24))
                acc >>= 32
                bits -= 32
            }
        }
        while bits >= 8 {
            out.append(UInt8(truncatingIfNeeded: acc))
            acc >>= 8
            bits -= 8
        }
        // Padding values are zeros: only their bits are left to write.
        bits += (groups * 8 - literals.count) * width
        while bits > 0 {
            out.append(UInt8(truncatingIfNeeded: acc))
            acc >>= 8
            bits -= 8
        }
    }

    static func varint(_ v: UInt64, into out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Decodes `count` values of the hybrid at `bytes`, appending them to `out`. Every value must be
    /// below `limit` (the dictionary's size, or the maximum level plus one).
    static func decodeHybrid(
        _ bytes: UnsafeRawBufferPointer, width: Int, count: Int, limit: UInt32, into out: inout [UInt32]
    ) throws(Malformed) {
        guard width <= 32 else { throw Malformed("a bit width of \(width)") }
        var r = ByteCursor(bytes)
        var left = count
        while left > 0 {
            let header = try r.varint()
            if header & 1 == 0 {
                let n = header >> 1
                guard n > 0 else { throw Malformed("an empty RLE run") }
                var v: UInt64 = 0
                for k in 0..<(width + 7) / 8 { v |= UInt64(try r.byte()) << UInt64(8 * k) }
                guard v < UInt64(limit) else { throw Malformed("a value \(v) past its limit \(limit)") }
                let take = Int(min(n, UInt64(left)))
                out.append(contentsOf: repeatElement(UInt32(v), count: take))
                left -= take
            } else {
                let groups = header >> 1
                // A group of 8 values takes `width` bytes (none at width 0).
                guard groups > 0, groups <= UInt64(Int32.max), Int(groups) * width <= r.remaining else {
                    throw Malformed("a bit-packed run runs past the end")
                }
                let take = min(Int(groups) * 8, left)
                let largest = try r.unpack32(width: width, count: take, bytes: Int(groups) * width, appendingTo: &out)
                if take > 0 && largest >= limit { throw Malformed("a value past its limit \(limit)") }
                left -= take
            }
        }
    }

    // MARK: DELTA_BINARY_PACKED

    /// Decodes a DELTA_BINARY_PACKED stream of `count` values (Int32 or Int64 columns alike, with
    /// wrapping arithmetic as the spec asks), appending them to `out`. Returns the bytes it used.
    @discardableResult
    static func decodeDelta(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [Int64]) throws(Malformed) -> Int {
        var r = ByteCursor(bytes)
        let blockSize = Int(try r.varint())
        let miniblocks = Int(try r.varint())
        let total = try r.varint()
        var value = try r.zigzag()
        guard blockSize > 0, blockSize % 128 == 0, blockSize <= 1 << 20, miniblocks > 0, blockSize % miniblocks == 0,
            (blockSize / miniblocks) % 32 == 0
        else { throw Malformed("a delta header with block \(blockSize) and \(miniblocks) miniblocks") }
        guard total >= UInt64(count) else { throw Malformed("\(total) delta values where \(count) are needed") }
        let perMiniblock = blockSize / miniblocks
        if count == 0 { return r.position }
        out.append(value)
        var left = count - 1
        var widths = [Int](repeating: 0, count: miniblocks)
        while left > 0 {
            let minDelta = try r.zigzag()
            for m in 0..<miniblocks { widths[m] = Int(try r.byte()) }
            for m in 0..<miniblocks where left > 0 {
                let w = widths[m]
                guard w <= 64 else { throw Malformed("a miniblock bit width of \(w)") }
                let size = perMiniblock * w / 8
                guard size <= r.remaining else { throw Malformed("a miniblock runs past the end") }
                let take = min(perMiniblock, left)
                try r.unpack(width: w, count: take, bytes: size) { d in
                    value = value &+ minDelta &+ Int64(bitPattern: d)
                    out.append(value)
                }
                left -= take
            }
        }
        return r.position
    }

    // MARK: BYTE_STREAM_SPLIT

    /// Gathers `count` values of `size` bytes split into `size` streams back into little-endian values.
    static func unsplit(_ bytes: UnsafeRawBufferPointer, size: Int, count: Int, into out: inout [UInt8]) throws(Malformed) {
        guard bytes.count == size * count else { throw Malformed("\(bytes.count) bytes of split streams for \(count) values of \(size) bytes") }
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: repeatElement(0, count: bytes.count))
        for k in 0..<size {
            for i in 0..<count { out[i * size + k] = bytes[k * count + i] }
        }
    }
}

/// Reads bytes in order, checking each read against the end.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }

    mutating func skip(_ n: Int) { position += n }

    mutating func byte() throws(ParquetEncoding.Malformed) -> UInt8 {
        guard position < bytes.count else { throw ParquetEncoding.Malformed("the data ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws(ParquetEncoding.Malformed) -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            if shift > 63 || (shift == 63 && b > 1) { throw ParquetEncoding.Malformed("a varint is too long") }
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
        }
    }

    mutating func zigzag() throws(ParquetEncoding.Malformed) -> Int64 {
        let u = try varint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// Unpacks `count` values of `width` bits (at most 32, least significant first) from the next
    /// `size` bytes, which it then skips whole, appending them to `out`; returns the largest.
    /// `strata_unpack32` does it, a thousand values at a time through a buffer on the stack.
    mutating func unpack32(width: Int, count: Int, bytes size: Int, appendingTo out: inout [UInt32]) throws(ParquetEncoding.Malformed) -> UInt32 {
        guard width <= 32, size <= remaining, count * width <= size * 8 else { throw ParquetEncoding.Malformed("packed values run past the end") }
        if width == 0 || count == 0 {
            out.append(contentsOf: repeatElement(0, count: count))
            position += size
            return 0
        }
        var largest: UInt32 = 0
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 1_024) { temp in
            var done = 0
            while done < count {
                let n = min(temp.count, count - done)  // a multiple of 8 but at the end: `done` stays byte-aligned
                let at = position + done / 8 * width
                let m = strata_unpack32(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + at, bytes.count - at, UInt32(width), n, temp.baseAddress!)
                largest = max(largest, m)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: temp[0..<n]))
                done += n
            }
        }
        position += size
        return largest
    }

    /// Unpacks `count` values of `width` bits (least significant first) from the next `bytes` bytes,
    /// which it then skips whole.
    mutating func unpack(width: Int, count: Int, bytes size: Int, _ body: (UInt64) -> Void) throws(ParquetEncoding.Malformed) {
        guard size <= remaining, count * width <= size * 8 else { throw ParquetEncoding.Malformed("packed values run past the end") }
        let mask: UInt64 = width == 64 ? ~0 : (1 << UInt64(width)) &- 1
        var bit = position * 8
        // Values of up to 56 bits lie in one 8-byte load while 8 bytes remain; the rest bit by bit.
        let fastEnd = width <= 56 ? (bytes.count - 8) * 8 : 0
        var k = 0
        while k < count && bit + width <= fastEnd {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: bit >> 3, as: UInt64.self))
            body((word >> UInt64(bit & 7)) & mask)
            bit += width
            k += 1
        }
        while k < count {
            var v: UInt64 = 0
            var got = 0
            while got < width {
                let byteIndex = bit >> 3, shift = bit & 7
                let take = min(8 - shift, width - got)
                let part = (UInt64(bytes[byteIndex]) >> UInt64(shift)) & ((1 << UInt64(take)) - 1)
                v |= part << UInt64(got)
                got += take
                bit += take
            }
            body(v & mask)
            k += 1
        }
        position += size
    }
}
