import CStrataKernels

/// Bit-packing in miniblocks of 128 values: a `u8` width w (0...64), then the values in w bits each,
/// least significant bit first, in ceil(count × w / 8) bytes.
enum Bitpack {
    static func pack(_ t: [UInt64], into out: inout [UInt8]) {
        let n = t.count
        let start = out.count
        let room = Encoding.rawLengthMax(rows: n)
        out.append(contentsOf: repeatElement(0, count: room))
        let written = out.withUnsafeMutableBytes { raw in
            t.withUnsafeBufferPointer { t in packMiniblocks(t, into: UnsafeMutableRawBufferPointer(rebasing: raw[start...])) }
        }
        out.removeLast(room - written)
    }

    /// Writes the miniblocks of `t` from the start of `out` (room for `Encoding.rawLengthMax`
    /// bytes); returns how many bytes they take.
    private static func packMiniblocks(_ t: UnsafeBufferPointer<UInt64>, into out: UnsafeMutableRawBufferPointer) -> Int {
        let n = t.count
        var at = 0
        var i = 0
        while i < n {
            let c = min(Encoding.miniblockValues, n - i)
            var any: UInt64 = 0
            for k in i..<i + c { any |= t[k] }
            let w = 64 - any.leadingZeroBitCount
            out[at] = UInt8(w)
            at += 1
            if w > 0 {
                var acc: UInt64 = 0
                var bits = 0
                for k in i..<i + c {
                    let v = t[k]
                    acc |= v &<< UInt64(bits)
                    if bits + w >= 64 {
                        out.storeBytes(of: acc.littleEndian, toByteOffset: at, as: UInt64.self)
                        at += 8
                        acc = bits == 0 ? 0 : v &>> UInt64(64 - bits)
                        bits = bits + w - 64
                    } else {
                        bits += w
                    }
                }
                var rest = (bits + 7) / 8
                while rest > 0 {
                    out[at] = UInt8(truncatingIfNeeded: acc)
                    at += 1
                    acc >>= 8
                    rest -= 1
                }
            }
            i += c
        }
        return at
    }

    /// Unpacks `count` values and finishes each (zigzag, times `divisor`, then a running sum or
    /// xor); false when the bytes do not hold exactly that many. With `range`, the miniblocks
    /// before the one holding `range.lowerBound` are stepped over (their widths read, their values
    /// not; the running value starts at `start` from the first one unpacked) and the unpacking stops
    /// after the miniblock that holds value `range.upperBound - 1` (the bytes read so far are
    /// checked, the rest not read). Full miniblocks wholly outside `store` only move the running
    /// value (`strata_skip128`): their values are left unspecified. Returns the running value
    /// after the last miniblock unpacked, or nil when the bytes are malformed.
    /// Full miniblocks of 1 to 56 bits with 8 readable bytes after them (all but the last of a
    /// chunk, mostly) go to the C kernel, which unrolls on the width; the rest through `step`.
    static func unpack(
        _ raw: UnsafeRawBufferPointer, count n: Int, range: Range<Int>? = nil, store: Range<Int>? = nil, start: Int64 = 0,
        into out: UnsafeMutableBufferPointer<Int64>, zigzag: Bool, divisor d: Int64, mode: ColumnCodec.Accumulate
    ) -> Int64? {
        let store = store ?? 0..<n
        let limit = min(range?.upperBound ?? n, n)
        let skip = range?.lowerBound ?? 0
        let finish = (zigzag ? UInt32(STRATA_FINISH_ZIGZAG) : 0)
            | (mode == .delta ? UInt32(STRATA_FINISH_DELTA) : mode == .xor ? UInt32(STRATA_FINISH_XOR) : 0)
        var acc = start
        var pos = 0
        var i = 0
        while i < limit {
            let c = min(Encoding.miniblockValues, n - i)
            guard pos < raw.count else { return nil }
            let w = Int(raw[pos])
            pos += 1
            guard w <= 64 else { return nil }
            let bytes = (c * w + 7) / 8
            guard pos + bytes <= raw.count else { return nil }
            if i + c <= skip {
                // before the range: stepped over
            } else if c == Encoding.miniblockValues && w >= 1 && w <= 56, let base = raw.baseAddress, let dst = out.baseAddress {
                if (i + c <= store.lowerBound || i >= store.upperBound) && pos + bytes + 8 <= raw.count {
                    if mode != .none { strata_skip128(base.assumingMemoryBound(to: UInt8.self) + pos, UInt32(w), finish, d, &acc) }
                } else if pos + bytes + 8 <= raw.count {
                    strata_unpack128(base.assumingMemoryBound(to: UInt8.self) + pos, UInt32(w), dst + i, finish, d, &acc)
                } else {
                    // The chunk's last miniblock: its bytes copied to where 8 zero bytes follow them.
                    withUnsafeTemporaryAllocation(byteCount: 56 * 16 + 8, alignment: 8) { p in
                        p.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[pos..<pos + bytes]))
                        for z in bytes..<bytes + 8 { p[z] = 0 }
                        strata_unpack128(p.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt32(w), dst + i, finish, d, &acc)
                    }
                }
            } else {
                for k in 0..<c {
                    out[i + k] = ColumnCodec.step(value(raw, at: pos, k * w, w), &acc, zigzag: zigzag, divisor: d, mode: mode)
                }
            }
            pos += bytes
            i += c
        }
        return limit < n || pos == raw.count ? acc : nil
    }

    /// The `w`-bit value at bit `bit` of the bytes from `start` (w ≤ 64; reads no byte past the value's).
    private static func value(_ raw: UnsafeRawBufferPointer, at start: Int, _ bit: Int, _ w: Int) -> UInt64 {
        var v: UInt64 = 0
        var got = 0
        var b = bit
        while got < w {
            let byte = UInt64(raw[start + b >> 3]) &>> UInt64(b & 7)
            let take = min(8 - (b & 7), w - got)
            v |= (byte & ((1 &<< UInt64(take)) &- 1)) &<< UInt64(got)
            got += take
            b += take
        }
        return v
    }
}
