/// A string that is equal, hashed and ordered by its UTF-8 bytes, not as Unicode text.
///
/// Swift's `String ==` is canonical equivalence: `"é"` (U+00E9) equals `"e\u{301}"`. Strata compares
/// symbols, table names and column names as bytes (Format.md), so two symbols that differ in their
/// bytes stay two symbols and come back with the bytes they were written with. Every map or set
/// keyed by such a name uses `ByteString`; every comparison uses `sameBytes`.
package struct ByteString: Hashable, Comparable, Sendable, CustomStringConvertible {
    package let string: String

    package init(_ string: String) { self.string = string }

    package static func == (a: ByteString, b: ByteString) -> Bool { sameBytes(a.string, b.string) }

    package static func < (a: ByteString, b: ByteString) -> Bool { utf8Less(a.string, b.string) }

    package func hash(into hasher: inout Hasher) { hashBytes(string, into: &hasher) }

    package var description: String { string }
}

/// Whether two strings have the same UTF-8 bytes.
@inline(__always)
package func sameBytes(_ a: String, _ b: String) -> Bool {
    // The same representation (a small string's inline bytes, or one shared buffer): the same bytes.
    // The common case in scans, where names come from the catalog, costs two word compares.
    if sameRepresentation(a, b) { return true }
    // Equal bytes are equal text, so unequal text settles it at once (String's == is quick on
    // strings that are byte for byte the same, and on ASCII).
    guard a.utf8.count == b.utf8.count, a == b else { return false }
    // Native strings lend their bytes: compare the buffers byte by byte, in a plain loop.
    let fast = a.utf8.withContiguousStorageIfAvailable { x in
        b.utf8.withContiguousStorageIfAvailable { y in
            if x.baseAddress == y.baseAddress { return true }
            for i in 0..<x.count where x[i] != y[i] { return false }
            return true
        }
    }
    if let fast, let equal = fast { return equal }
    return a.utf8.elementsEqual(b.utf8)
}

/// Byte order of UTF-8, the order symbols are listed and dumped in.
package func utf8Less(_ a: String, _ b: String) -> Bool {
    // Native strings lend their bytes: a plain loop over them (the generic walk of two UTF-8 views
    // was 2% of a LATEST ON over 500 symbols, which lists them in this order).
    let fast = a.utf8.withContiguousStorageIfAvailable { x in
        b.utf8.withContiguousStorageIfAvailable { y in
            let n = min(x.count, y.count)
            for i in 0..<n where x[i] != y[i] { return x[i] < y[i] }
            return x.count < y.count
        }
    }
    if let fast, let less = fast { return less }
    return a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// Hashes a string for a byte-compared key. String's own hash (of its canonical form) serves:
/// strings with equal bytes are equal text, so they hash alike; unequal bytes may collide, as any
/// two keys may.
@inline(__always)
func hashBytes(_ s: String, into hasher: inout Hasher) {
    hasher.combine(s)
}

/// Whether two strings are stored alike, bit for bit (then their bytes are equal; the converse need not hold).
@inline(__always)
private func sameRepresentation(_ a: String, _ b: String) -> Bool {
    withUnsafeBytes(of: a) { x in
        withUnsafeBytes(of: b) { y in
            var i = 0
            while i + 8 <= x.count {
                if x.loadUnaligned(fromByteOffset: i, as: UInt64.self) != y.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
                i += 8
            }
            while i < x.count {
                if x[i] != y[i] { return false }
                i += 1
            }
            return true
        }
    }
}

/// `bytes` as a string when they are valid UTF-8, nil when not. The standard library's
/// `String(validating:as:)` is generic and unspecialised here, about 1,000 instructions a call
/// (manifest names, dictionary entries, text fields); decoding (which repairs) and checking that no
/// byte was repaired gives the same answer in a tenth of that.
@inline(__always)
func validUTF8(_ bytes: UnsafeRawBufferPointer) -> String? {
    var ascii = true
    for b in bytes where b >= 0x80 {
        ascii = false
        break
    }
    let s = String(decoding: bytes, as: UTF8.self)
    if ascii { return s }  // ASCII is valid, and decodes to itself
    return s.utf8.count == bytes.count && s.utf8.elementsEqual(bytes) ? s : nil
}
