/// Little-endian serialisation helpers used by the block and manifest formats.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    mutating func pad(toMultipleOf n: Int) {
        while bytes.count % n != 0 { bytes.append(0) }
    }
    mutating func patch(u64 v: UInt64, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { raw in
            for i in 0..<8 { bytes[offset + i] = raw[i] }
        }
    }
    mutating func patch(u32 v: UInt32, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { raw in
            for i in 0..<4 { bytes[offset + i] = raw[i] }
        }
    }
}

/// A bounds-checked little-endian reader. Running past the end throws; it never traps,
/// so damaged bytes from disk turn into errors.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int
    let what: () -> String

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, what: @escaping () -> String) {
        self.bytes = bytes
        self.offset = offset
        self.what = what
    }

    var remaining: Int { bytes.count - offset }

    /// Inlined into every read (a manifest replay reads six fields a block); the message is built
    /// out of line, only when the bytes run out.
    @inline(__always)
    func need(_ n: Int) throws(StrataError) {
        if n < 0 || n > remaining { throw truncated(needing: n) }
    }

    @inline(never)
    private func truncated(needing n: Int) -> StrataError {
        .damaged("\(what()): truncated at byte \(offset) (needed \(n) more bytes, \(remaining) left)")
    }

    @inline(__always) mutating func u8() throws(StrataError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }
    @inline(__always) mutating func u16() throws(StrataError) -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inline(__always) mutating func u32() throws(StrataError) -> UInt32 {
        try need(4)
        defer { offset += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always) mutating func u64() throws(StrataError) -> UInt64 {
        try need(8)
        defer { offset += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    @inline(__always) mutating func i64() throws(StrataError) -> Int64 { Int64(bitPattern: try u64()) }
    mutating func string(maxBytes: Int) throws(StrataError) -> String {
        let n = Int(try u32())
        if n > maxBytes { throw .damaged("\(what()): string of \(n) bytes at byte \(offset - 4) exceeds \(maxBytes)") }
        try need(n)
        defer { offset += n }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
        guard let s = validUTF8(slice) else {
            throw .damaged("\(what()): string at byte \(offset) is not valid UTF-8")
        }
        return s
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` that keeps the typed error (the standard one is `rethrows`, which erases it).
    func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBufferPointer { (p) throws(E) in try body(UnsafeRawBufferPointer(p)) }
    }

    mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(StrataError) -> R) throws(StrataError) -> R {
        try withUnsafeMutableBufferPointer { (p) throws(StrataError) in try body(UnsafeMutableRawBufferPointer(p)) }
    }
}
