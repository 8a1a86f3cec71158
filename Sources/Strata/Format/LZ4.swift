import CLZ4

/// The one door to liblz4: no `LZ4_*` name appears anywhere else in Strata.
enum LZ4 {
    /// The largest output `compress` can produce for `count` input bytes.
    static func compressBound(_ count: Int) -> Int {
        Int(LZ4_compressBound(Int32(count)))
    }

    /// Compresses `source` into `destination`; returns the compressed size, or 0 when it does not fit.
    static func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
        guard source.count > 0, let src = source.baseAddress, let dst = destination.baseAddress else { return 0 }
        let n = LZ4_compress_default(
            src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        return Int(n)
    }

    /// Decompresses `source`, which must expand to exactly `destination.count` bytes.
    /// Returns false on malformed input; liblz4's safe decoder never reads or writes out of bounds.
    static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        if destination.count == 0 { return source.count == 0 }
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return false }
        let n = LZ4_decompress_safe(
            src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        return Int(n) == destination.count
    }

    /// Decompresses the first `count` bytes of what `source` expands to into `destination` (which
    /// holds all of it); false when the input is malformed or expands to fewer.
    static func decompressPrefix(_ source: UnsafeRawBufferPointer, _ count: Int, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        guard count > 0, count <= destination.count, let src = source.baseAddress, let dst = destination.baseAddress else { return false }
        let n = LZ4_decompress_safe_partial(
            src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(count), Int32(destination.count))
        return Int(n) >= count
    }
}
