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

    package static func < (a: ByteString, b: ByteString) -> Bool { a.string.utf8.lexicographicallyPrecedes(b.string.utf8) }

    package func hash(into hasher: inout Hasher) { hashBytes(string, into: &hasher) }

    package var description: String { string }
}

/// Whether two strings have the same UTF-8 bytes.
@inline(__always)
package func sameBytes(_ a: String, _ b: String) -> Bool {
    a.utf8.count == b.utf8.count && a.utf8.elementsEqual(b.utf8)
}

/// Feeds a string's UTF-8 bytes (and their count) to `hasher`.
@inline(__always)
func hashBytes(_ s: String, into hasher: inout Hasher) {
    var s = s
    s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    hasher.combine(s.utf8.count)
}
