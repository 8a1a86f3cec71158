/// xxHash64 (seed 0), the checksum of every block, column chunk and manifest record.
/// Specified at https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md; Format.md refers to it.
enum XXH64 {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always)
    private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 &- r)) }

    @inline(__always)
    private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* p2, 31) &* p1
    }

    @inline(__always)
    private static func merge(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        (acc ^ round(0, value)) &* p1 &+ p4
    }

    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        hash(bytes, seed: seed, zeroed: -1)
    }

    /// The hash of `bytes` as if the 8 bytes at `zeroingWordAt` (a multiple of 8) were zero: a block
    /// header's checksum covers the header with its own checksum field zeroed.
    static func hash(_ bytes: UnsafeRawBufferPointer, zeroingWordAt offset: Int) -> UInt64 {
        precondition(offset % 8 == 0 && offset + 8 <= bytes.count)
        // A header (a few hundred bytes, read for every block a query touches) is hashed from a
        // copy with the word zeroed: the plain loop, without a test at every load.
        if bytes.count <= 4_096 {
            return withUnsafeTemporaryAllocation(byteCount: bytes.count, alignment: 8) { copy in
                copy.copyMemory(from: bytes)
                copy.storeBytes(of: 0, toByteOffset: offset, as: UInt64.self)
                return hash(UnsafeRawBufferPointer(copy), seed: 0, zeroed: -1)
            }
        }
        return hash(bytes, seed: 0, zeroed: offset)
    }

    /// Every 8-byte load is at a multiple of 8, so the word at `zeroed` is one load.
    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64, zeroed: Int) -> UInt64 {
        @inline(__always) func load64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
            offset == zeroed ? 0 : XXH64.load64(bytes, offset)
        }
        let count = bytes.count
        var offset = 0
        var h: UInt64
        if count >= 32 {
            var v1 = seed &+ p1 &+ p2
            var v2 = seed &+ p2
            var v3 = seed
            var v4 = seed &- p1
            let limit = count - 32
            while offset <= limit {
                v1 = round(v1, load64(bytes, offset))
                v2 = round(v2, load64(bytes, offset + 8))
                v3 = round(v3, load64(bytes, offset + 16))
                v4 = round(v4, load64(bytes, offset + 24))
                offset += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = merge(h, v1)
            h = merge(h, v2)
            h = merge(h, v3)
            h = merge(h, v4)
        } else {
            h = seed &+ p5
        }
        h = h &+ UInt64(count)
        while offset + 8 <= count {
            h ^= round(0, load64(bytes, offset))
            h = rotl(h, 27) &* p1 &+ p4
            offset += 8
        }
        if offset + 4 <= count {
            let k = UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            h ^= k &* p1
            h = rotl(h, 23) &* p2 &+ p3
            offset += 4
        }
        while offset < count {
            h ^= UInt64(bytes[offset]) &* p5
            h = rotl(h, 11) &* p1
            offset += 1
        }
        h ^= h >> 33
        h = h &* p2
        h ^= h >> 29
        h = h &* p3
        h ^= h >> 32
        return h
    }

    static func hash(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { hash($0) }
    }

    @inline(__always)
    private static func load64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
