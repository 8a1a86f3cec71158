import Dispatch

/// Parses stretches ("sections") of a mapped CSV file on worker threads, so that an import uses every
/// core. Only the common shape is handled here: unquoted fields, LF or CRLF line ends, numbers that
/// parse, rows of the header's width. A section with anything else comes back `ok == false` and the
/// importer parses it with the serial reader, which is the reference and produces the exact error
/// (with its line number) or the widening decision. Because a section with a quote is never accepted,
/// a line end found by plain search is always a real one (see `CSVImporter.load`).
struct CSVSectionParser: Sendable {
    /// The rows of one section, columns laid out one after another.
    struct Section: Sendable {
        /// Byte offsets of the first row and just past the last row's line end.
        var start: Int
        var end: Int
        var rows = 0
        /// Consecutive rows of one symbol: an index into `symbols` and a row count.
        var runs: [(symbol: Int, rows: Int)] = []
        /// The byte range in the file of each distinct symbol of the section.
        var symbols: [Range<Int>] = []
        var times: [Int64] = []
        /// One buffer per value column of the table (null in every row for columns the file lacks).
        var columns: [ColumnBuffer] = []
        var ok = false
    }

    let region: MappedRegion
    /// Field position → value column index, -1 for the symbol, -2 for the time.
    let slots: [Int]
    let types: [ColumnType]

    /// Parses the rows that start in [from, to). `from` must be a row start.
    func parse(from: Int, to: Int) -> Section {
        region.withBytes { b in parse(from: from, to: to, in: b) }
    }

    private func parse(from: Int, to: Int, in b: UnsafeRawBufferPointer) -> Section {
        var section = Section(start: from, end: from)
        let estimate = (to - from) / 48 + 16
        section.times.reserveCapacity(estimate)
        var columns = types.map(ColumnBuffer.init(type:))
        for c in columns.indices { columns[c].reserveCapacity(estimate, type: types[c]) }
        let absent = types.indices.filter { !slots.contains($0) }
        var index = SymbolIndex()
        var i = from
        var time: Int64 = 0
        var symbol: Range<Int> = 0..<0
        while i < to && i < b.count {
            guard parseRow(b, at: &i, into: &columns, time: &time, symbol: &symbol) else { return section }
            for c in absent { columns[c].appendNull() }
            let id = index.id(of: symbol, in: b, symbols: &section.symbols)
            if let last = section.runs.last, last.symbol == id {
                section.runs[section.runs.count - 1].rows += 1
            } else {
                section.runs.append((id, 1))
            }
            section.times.append(time)
        }
        section.rows = section.times.count
        section.end = i
        section.columns = columns
        section.ok = true
        return section
    }

    /// Parses the row at `i`, appending its values to `columns` (an empty field is null), and sets
    /// `time` and `symbol` (its byte range), moving `i` past its line end. False when the row needs
    /// the serial reader (its values may then be partly appended: the section is thrown away).
    @inline(__always)
    private func parseRow(
        _ b: UnsafeRawBufferPointer, at i: inout Int, into columns: inout [ColumnBuffer], time: inout Int64,
        symbol: inout Range<Int>
    ) -> Bool {
        for (k, slot) in slots.enumerated() {
            let start = i
            // Most fields are plain numbers (the time, prices, counts): read in one pass with their end.
            let numeric = slot == -2 || (slot >= 0 && types[slot] != .string)
            if numeric, let (bits, end) = NumberParser.plain(b, at: i, decimal: slot >= 0 && types[slot] == .float64) {
                guard let next = Self.pastSeparator(b, at: end, last: k + 1 == slots.count) else { return false }
                if slot == -2 { time = bits } else { columns[slot].append(bits) }
                i = next
                continue
            }
            i = Self.fieldEnd(b, from: i)
            let field = UnsafeRawBufferPointer(rebasing: b[start..<i])
            guard let next = Self.pastSeparator(b, at: i, last: k + 1 == slots.count) else { return false }
            i = next
            switch slot {
            case -1:
                symbol = start..<(start + field.count)
            case -2:
                guard case .value(let v) = NumberParser.int64(field) else { return false }
                time = v
            default:
                if field.isEmpty {
                    columns[slot].appendNull()
                    continue
                }
                switch types[slot] {
                case .int64:
                    guard case .value(let v) = NumberParser.int64(field) else { return false }
                    columns[slot].append(v)
                case .float64:
                    guard let d = NumberParser.double(field) else { return false }
                    columns[slot].append(Int64(bitPattern: d.bitPattern))
                case .string:
                    guard field.count <= Limits.textBytesMax, let text = validUTF8(field) else { return false }
                    columns[slot].append(string: text)
                }
            }
        }
        return true
    }

    /// The offset of the first comma, line end or quote at or after `i` (the file's end when none).
    @inline(__always)
    private static func fieldEnd(_ b: UnsafeRawBufferPointer, from i: Int) -> Int {
        var i = i
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: ",") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") || c == UInt8(ascii: "\"") { break }
            i += 1
        }
        return i
    }

    /// Past the separator after a field at `i`: a comma between fields, a line end (or the file's
    /// end) after the last. Nil when the separator is anything else.
    @inline(__always)
    private static func pastSeparator(_ b: UnsafeRawBufferPointer, at i: Int, last: Bool) -> Int? {
        let n = b.count
        if !last { return i < n && b[i] == UInt8(ascii: ",") ? i + 1 : nil }
        if i >= n { return i }
        var i = i
        if b[i] == UInt8(ascii: "\r") {
            guard i + 1 < n && b[i + 1] == UInt8(ascii: "\n") else { return nil }
            i += 1
        }
        return b[i] == UInt8(ascii: "\n") ? i + 1 : nil
    }

    /// Distinct symbols of a section by their bytes, without an allocation per row.
    private struct SymbolIndex {
        private var slots = [Int](repeating: -1, count: 64)
        private var last = -1
        private var lastRange = 0..<0

        mutating func id(of r: Range<Int>, in b: UnsafeRawBufferPointer, symbols: inout [Range<Int>]) -> Int {
            if last >= 0 && equal(lastRange, r, b) { return last }
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for k in r { h = (h ^ UInt64(b[k])) &* 0x100_0000_01b3 }
            var s = Int(truncatingIfNeeded: h) & (slots.count - 1)
            while slots[s] >= 0 {
                if equal(symbols[slots[s]], r, b) {
                    last = slots[s]
                    lastRange = r
                    return last
                }
                s = (s + 1) & (slots.count - 1)
            }
            slots[s] = symbols.count
            symbols.append(r)
            last = symbols.count - 1
            lastRange = r
            if symbols.count * 2 > slots.count { grow(b, symbols) }
            return last
        }

        private mutating func grow(_ b: UnsafeRawBufferPointer, _ symbols: [Range<Int>]) {
            slots = [Int](repeating: -1, count: slots.count * 2)
            for (id, r) in symbols.enumerated() {
                var h: UInt64 = 0xcbf2_9ce4_8422_2325
                for k in r { h = (h ^ UInt64(b[k])) &* 0x100_0000_01b3 }
                var s = Int(truncatingIfNeeded: h) & (slots.count - 1)
                while slots[s] >= 0 { s = (s + 1) & (slots.count - 1) }
                slots[s] = id
            }
        }

        @inline(__always)
        private func equal(_ a: Range<Int>, _ r: Range<Int>, _ b: UnsafeRawBufferPointer) -> Bool {
            guard a.count == r.count else { return false }
            for k in 0..<a.count where b[a.lowerBound + k] != b[r.lowerBound + k] { return false }
            return true
        }
    }
}

/// Sections parsed ahead of the importer on the global queue, handed out in file order.
final class SectionPipeline {
    private final class Pending: @unchecked Sendable {
        let range: Range<Int>
        let done = DispatchSemaphore(value: 0)
        /// Written by the worker before `done` is signalled, read after waiting on it.
        var section: CSVSectionParser.Section? = nil
        init(range: Range<Int>) { self.range = range }
    }

    private let parser: CSVSectionParser
    private let sectionBytes: Int
    private let ahead: Int
    private var pending: [Pending] = []
    private var nextStart: Int
    private let end: Int

    init(parser: CSVSectionParser, from start: Int, sectionBytes: Int, ahead: Int) {
        self.parser = parser
        self.sectionBytes = max(1, sectionBytes)
        self.ahead = max(1, ahead)
        self.nextStart = start
        self.end = parser.region.count
        fill()
    }

    deinit {
        // Workers hold their own references; wait so none outlives the import that started it.
        for p in pending { p.done.wait() }
    }

    /// The next section's byte range and its parse (nil only when the pipeline is exhausted).
    func next() -> (range: Range<Int>, section: CSVSectionParser.Section)? {
        fill()
        if pending.isEmpty { return nil }
        let p = pending.removeFirst()
        p.done.wait()
        fill()
        return (p.range, p.section!)
    }

    private func fill() {
        while pending.count < ahead && nextStart < end {
            let start = nextStart
            let stop = lineStart(after: start + sectionBytes - 1)
            nextStart = stop
            let p = Pending(range: start..<stop)
            pending.append(p)
            let parser = self.parser
            DispatchQueue.global().async {
                p.section = parser.parse(from: start, to: stop)
                p.done.signal()
            }
        }
    }

    /// The offset just past the first line feed at or after `from`, or the file's end.
    private func lineStart(after from: Int) -> Int {
        parser.region.withBytes { b in
            var i = from
            while i < b.count && b[i] != UInt8(ascii: "\n") { i += 1 }
            return min(i + 1, b.count)
        }
    }
}
