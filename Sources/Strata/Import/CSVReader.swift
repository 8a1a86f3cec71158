/// A CSV file mapped read-only and cut into records (RFC 4180: comma separated, fields may be
/// quoted with `"`, a quote inside a quoted field is doubled, LF or CRLF line ends).
/// Records are read straight from the mapping; only quoted fields with doubled quotes are copied.
struct CSVReader {
    let path: String
    let region: MappedRegion
    /// Byte offset of the next record.
    var position = 0
    /// 1-based line number of the record most recently read.
    var line = 0
    private var nextLine = 1
    /// Pages before this offset have been released from the resident set.
    private var releasedUpTo = 0
    private static let releaseStep = 64 << 20

    struct Field {
        var start: Int
        var end: Int
        /// The field was quoted and holds doubled quotes: `raw` is not its value, `string` is.
        var escaped: Bool
        /// The field was quoted (`""` is an empty text, not a null).
        var quoted = false

        /// An empty unquoted field: a null.
        var isNull: Bool { start == end && !quoted }
    }

    var fields: [Field] = []

    init(path: String, fs: any FileSystem = PosixFileSystem()) throws(StrataError) {
        self.path = path
        if fs.isDirectory(path) { throw .badInput("\(path) is a directory, not a CSV file") }
        let h = try fs.open(path, create: false, writable: false)
        defer { fs.close(h) }
        let size = try fs.size(h)
        if size == 0 { throw .badInput("\(path) is empty: expected a CSV header line") }
        region = try fs.map(h, length: Int(size))
        region.adviseSequential()
        if region.withBytes({ $0.prefix(65_536).contains(0) }) {
            throw .badInput("\(path) looks like a binary file (it contains NUL bytes), not CSV")
        }
        // A UTF-8 byte order mark (spreadsheets write one) is not part of the first column's name.
        if region.withBytes({ $0.count >= 3 && $0[0] == 0xEF && $0[1] == 0xBB && $0[2] == 0xBF }) { position = 3 }
    }

    var atEnd: Bool { position >= region.count }

    /// The record just read is an empty last line (a file ending in a blank line), not a short row.
    var isTrailingEmptyLine: Bool { fields.count == 1 && atEnd && fields[0].start == fields[0].end }

    /// Goes back to a record start seen before; `line` is the line number of the record before it.
    mutating func rewind(to position: Int, afterLine line: Int) {
        self.position = position
        self.line = line
        self.nextLine = line + 1
        self.releasedUpTo = 0
    }

    /// Moves past `lines` records that were parsed elsewhere (single-line records ending at `position`).
    mutating func skip(to position: Int, lines: Int) {
        self.position = position
        line += lines
        nextLine = line + 1
        if position >= releasedUpTo + Self.releaseStep {
            region.release(upTo: position)
            releasedUpTo = position
        }
    }

    /// Reads the next record into `fields`. Returns false at the end of the file.
    /// An empty line is a record with one empty field, so it fails as a short row, except at the very end.
    mutating func next() throws(StrataError) -> Bool {
        if position >= releasedUpTo + Self.releaseStep {
            region.release(upTo: position)
            releasedUpTo = position
        }
        fields.removeAll(keepingCapacity: true)
        if position >= region.count { return false }
        let region = self.region
        try region.withBytes { (b) throws(StrataError) in try record(in: b) }
        nextLine += 1
        return true
    }

    /// Cuts the record at `position` of `b` into `fields`.
    private mutating func record(in b: UnsafeRawBufferPointer) throws(StrataError) {
        let n = b.count
        line = nextLine
        var i = position
        while true {
            if i < n && b[i] == UInt8(ascii: "\"") {
                let (field, after) = try quotedField(from: i, in: b)
                fields.append(field)
                i = after
            } else {
                let start = i
                while i < n {
                    let c = b[i]
                    if c == UInt8(ascii: ",") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") { break }
                    if c == UInt8(ascii: "\"") {
                        throw .badInput("\(path) line \(line), field \(fields.count + 1): a quote in the middle of an unquoted field")
                    }
                    i += 1
                }
                fields.append(Field(start: start, end: i, escaped: false))
            }
            if i >= n { position = n; break }
            let c = b[i]
            if c == UInt8(ascii: ",") { i += 1; continue }
            if c == UInt8(ascii: "\r") {
                if i + 1 < n && b[i + 1] == UInt8(ascii: "\n") { i += 1 } else {
                    throw .badInput("\(path) line \(line): a carriage return not followed by a line feed")
                }
            }
            position = i + 1  // past "\n"
            break
        }
    }

    private mutating func quotedField(from open: Int, in b: UnsafeRawBufferPointer) throws(StrataError) -> (Field, Int) {
        let n = b.count
        var i = open + 1
        var doubled = false
        while true {
            guard i < n else {
                throw .badInput("\(path) line \(line): a quoted field opened here is never closed (unterminated quote)")
            }
            let c = b[i]
            if c == UInt8(ascii: "\n") { nextLine += 1 }
            if c == UInt8(ascii: "\"") {
                if i + 1 < n && b[i + 1] == UInt8(ascii: "\"") {
                    doubled = true
                    i += 2
                    continue
                }
                break
            }
            i += 1
        }
        let close = i
        let after = close + 1
        if after < n, ![UInt8(ascii: ","), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(b[after]) {
            throw .badInput("\(path) line \(line): text after the closing quote of a field")
        }
        return (Field(start: open + 1, end: close, escaped: doubled, quoted: true), after)
    }

    /// Lends the bytes of `range` of the file to `body` (for a field: between its quotes, doubled
    /// quotes left doubled).
    @inline(__always)
    func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        region.withBytes { all in body(UnsafeRawBufferPointer(rebasing: all[range])) }
    }

    @inline(__always)
    func withField<R>(_ f: Field, _ body: (UnsafeRawBufferPointer) -> R) -> R { withBytes(f.start..<f.end, body) }

    /// The field as text; invalid UTF-8 is an error.
    func string(_ f: Field, column: String) throws(StrataError) -> String {
        var bytes = withField(f) { Array($0) }
        if f.escaped {
            var k = 0, out = 0
            while k < bytes.count {
                bytes[out] = bytes[k]
                out += 1
                k += bytes[k] == UInt8(ascii: "\"") ? 2 : 1
            }
            bytes.removeLast(bytes.count - out)
        }
        guard let s = bytes.withUnsafeBytes({ validUTF8($0) }) else {
            throw .badInput("\(path) line \(line), column \(column): the value is not valid UTF-8")
        }
        return s
    }

    /// A short excerpt of a field for error messages.
    func excerpt(_ f: Field) -> String {
        let text = withField(f) { String(decoding: $0, as: UTF8.self) }
        return text.count > 40 ? String(text.prefix(40)) + "…" : text
    }
}
