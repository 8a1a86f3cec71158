import CSnappy
import CZlib
import CZstd

/// Parquet's page compression codecs (`CompressionCodec` in parquet.thrift), through the system C
/// libraries: the one door to libzstd, libsnappy and zlib. LZ4_RAW is the plain LZ4 block format
/// (liblz4, through `LZ4`). Strata writes UNCOMPRESSED, ZSTD and LZ4_RAW; it reads those and SNAPPY
/// and GZIP. The Hadoop-framed LZ4 (5), LZO and BROTLI are refused.
public enum ParquetCodec: Int32, Sendable, CaseIterable {
    /// No compression (`none`).
    case uncompressed = 0
    /// Snappy (read only).
    case snappy = 1
    /// GZIP (read only).
    case gzip = 2
    /// Zstandard (`zstd`).
    case zstd = 6
    /// The LZ4 block format without framing (`lz4`).
    case lz4Raw = 7

    /// The name the CLI takes and prints.
    public var name: String {
        switch self {
        case .uncompressed: "none"
        case .snappy: "snappy"
        case .gzip: "gzip"
        case .zstd: "zstd"
        case .lz4Raw: "lz4"
        }
    }

    /// A codec Strata writes, by its CLI name.
    public init?(writing name: String) {
        switch name {
        case "none": self = .uncompressed
        case "zstd": self = .zstd
        case "lz4": self = .lz4Raw
        default: return nil
        }
    }

    /// The name of a codec id in messages, known or not.
    static func describe(_ id: Int64) -> String {
        switch id {
        case 3: "LZO"
        case 4: "BROTLI"
        case 5: "LZ4 (Hadoop-framed)"
        default: ParquetCodec(rawValue: Int32(truncatingIfNeeded: id)).map(\.name) ?? "codec \(id)"
        }
    }

    /// The zstd level Strata writes: libzstd's default (3) compressed the bars about as well as level 9
    /// at a third of the time.
    static let zstdLevel: Int32 = 2

    /// Compresses `source`, appending to `out`.
    func compress(_ source: [UInt8], into out: inout [UInt8]) {
        switch self {
        case .uncompressed:
            out.append(contentsOf: source)
        case .lz4Raw:
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: LZ4.compressBound(max(source.count, 1))))
            let n = source.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in LZ4.compress(src, into: UnsafeMutableRawBufferPointer(rebasing: dst[start...])) }
            }
            // liblz4 writes nothing for an empty input; one zero token is the empty block.
            out.removeLast(out.count - start - max(n, 1))
            if n == 0 { out[start] = 0 }
        case .zstd:
            let start = out.count
            let bound = ZSTD_compressBound(source.count)
            out.append(contentsOf: repeatElement(0, count: bound))
            let n = source.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    ZSTD_compress(dst.baseAddress! + start, bound, src.baseAddress, source.count, Self.zstdLevel)
                }
            }
            precondition(ZSTD_isError(n) == 0, "zstd failed to compress into its own bound")
            out.removeLast(bound - n)
        case .snappy, .gzip:
            preconditionFailure("Strata does not write \(name)")
        }
    }

    /// Decompresses `source`, which must expand to exactly `size` bytes, into `out` (replacing it).
    /// Returns false when the data is malformed or has another size; no codec reads or writes out of bounds.
    func decompress(_ source: UnsafeRawBufferPointer, size: Int, into out: inout [UInt8]) -> Bool {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: repeatElement(0, count: size))
        if self == .uncompressed {
            guard source.count == size else { return false }
            out.withUnsafeMutableBytes { $0.copyMemory(from: source) }
            return true
        }
        return out.withUnsafeMutableBytes { dst in
            switch self {
            case .lz4Raw:
                if size == 0 { return source.count <= 1 }
                return LZ4.decompress(source, into: dst)
            case .zstd: return Self.zstd(source, into: dst)
            case .snappy: return Self.snappy(source, into: dst)
            case .gzip: return Self.gzip(source, into: dst)
            case .uncompressed: return false
            }
        }
    }

    private static func zstd(_ source: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) -> Bool {
        guard let src = source.baseAddress else { return dst.count == 0 }
        let n = ZSTD_decompress(dst.baseAddress, dst.count, src, source.count)
        return ZSTD_isError(n) == 0 && n == dst.count
    }

    private static func snappy(_ source: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) -> Bool {
        guard let src = source.baseAddress?.assumingMemoryBound(to: CChar.self) else { return false }
        var length = 0
        guard snappy_uncompressed_length(src, source.count, &length) == SNAPPY_OK, length == dst.count else { return false }
        if length == 0 { return true }
        var written = dst.count
        let status = snappy_uncompress(src, source.count, dst.baseAddress!.assumingMemoryBound(to: CChar.self), &written)
        return status == SNAPPY_OK && written == dst.count
    }

    /// GZIP pages are gzip members (RFC 1952); zlib streams are accepted too.
    private static func gzip(_ source: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) -> Bool {
        guard let src = source.baseAddress, source.count <= Int(UInt32.max), dst.count <= Int(UInt32.max) else { return false }
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return false }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: src.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(source.count)
        var scratch: UInt8 = 0
        let end: Int32 = withUnsafeMutablePointer(to: &scratch) { one in
            stream.next_out = dst.count > 0 ? dst.baseAddress!.assumingMemoryBound(to: Bytef.self) : one
            stream.avail_out = uInt(dst.count)
            return inflate(&stream, Z_FINISH)
        }
        return end == Z_STREAM_END && Int(stream.total_out) == dst.count
    }
}
