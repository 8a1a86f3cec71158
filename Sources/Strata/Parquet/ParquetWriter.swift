/// Writes one Parquet file: row groups of Strata columns, then the footer (see FORMAT-NOTES.md).
///
/// Every column chunk is written as data pages v1 of about `pageBytes` of values; a column whose
/// distinct values are few is dictionary-encoded (one PLAIN dictionary page, then RLE_DICTIONARY
/// indices), else PLAIN. An optional column's pages start with their definition levels (the RLE
/// hybrid, 1 bit). Statistics: min and max (TYPE_ORDER: no NaN, zeros signed as the spec asks),
/// null count, and NaN count for doubles.
final class ParquetFileWriter {
    /// A column of the file: a value column, or the symbol (text) or time (timestamp) column.
    struct Field {
        var name: String
        var type: ColumnType
        var optional: Bool
        /// Set for the time column: its values are in this unit (seconds are written as millis).
        var timeUnit: TimeUnit?
    }

    let path: String
    private let fields: [Field]
    private let codec: ParquetCodec
    private let pageBytes: Int
    private let out: OutputFile
    private var rowGroups: [ParquetRowGroupMeta] = []
    /// The footer's key-value metadata.
    var keyValues: [(String, String)] = []
    private(set) var rows = 0
    /// About this many bytes of values per data page.
    static let pageBytes = 1 << 20
    /// At most this many distinct values, and this many bytes of them, make a dictionary.
    static let dictionaryValuesMax = 1 << 16
    static let dictionaryBytesMax = 1 << 20

    init(path: String, fields: [Field], codec: ParquetCodec, pageBytes: Int = ParquetFileWriter.pageBytes) throws(StrataError) {
        self.path = path
        self.fields = fields
        self.codec = codec
        self.pageBytes = pageBytes
        out = try OutputFile(creating: path)
        out.append(contentsOf: Array("PAR1".utf8))
    }

    var leaves: [ParquetLeaf] {
        fields.map { f in
            switch (f.type, f.timeUnit) {
            case (_, let unit?):
                return ParquetLeaf(name: f.name, physical: .int64, optional: false, logical: .timestamp(perSecond: Self.perSecond(unit)))
            case (.string, nil): return ParquetLeaf(name: f.name, physical: .byteArray, optional: f.optional, logical: .string)
            case (.int64, nil): return ParquetLeaf(name: f.name, physical: .int64, optional: f.optional, logical: .none)
            case (.float64, nil): return ParquetLeaf(name: f.name, physical: .double, optional: f.optional, logical: .none)
            }
        }
    }

    /// Parquet has no seconds: a seconds table is written in milliseconds.
    static func perSecond(_ unit: TimeUnit) -> Int64 {
        switch unit {
        case .seconds, .milliseconds: 1_000
        case .microseconds: 1_000_000
        case .nanoseconds: 1_000_000_000
        }
    }

    /// Writes rows `range` of `columns` (one per field, in order) as a row group.
    func writeRowGroup(_ columns: [ColumnBuffer], _ range: Range<Int>) throws(StrataError) {
        precondition(columns.count == fields.count)
        if range.isEmpty { return }
        let start = Int64(out.position)
        var chunks: [ParquetChunkMeta] = []
        for (field, column) in zip(fields, columns) {
            var chunk = ParquetChunkWriter(field: field, codec: codec, pageBytes: pageBytes, offset: Int64(out.position))
            try chunk.write(column, range, to: out)
            chunks.append(chunk.meta)
            try out.flushIfFull()
        }
        rowGroups.append(ParquetRowGroupMeta(chunks: chunks, rows: Int64(range.count), fileOffset: start))
        rows += range.count
    }

    /// Writes the footer and closes the file; returns its size in bytes.
    func finish() throws(StrataError) -> Int {
        let footer = ParquetFooter.encode(leaves: leaves, rowGroups: rowGroups, keyValues: keyValues, createdBy: "strata (Strata time-series storage)")
        out.append(contentsOf: footer)
        var length = UInt32(footer.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array("PAR1".utf8))
        let size = Int(out.position)
        try out.finish()
        return size
    }
}

/// Encodes one column chunk: its pages and its footer description.
struct ParquetChunkWriter {
    let field: ParquetFileWriter.Field
    let codec: ParquetCodec
    let pageBytes: Int
    private(set) var meta: ParquetChunkMeta
    private var page: [UInt8] = []
    private var compressed: [UInt8] = []

    init(field: ParquetFileWriter.Field, codec: ParquetCodec, pageBytes: Int, offset: Int64) {
        self.field = field
        self.codec = codec
        self.pageBytes = pageBytes
        let physical: ParquetPhysical = field.type == .string ? .byteArray : field.type == .float64 && field.timeUnit == nil ? .double : .int64
        meta = ParquetChunkMeta(
            physical: physical, encodings: [], path: field.name, codec: Int64(codec.rawValue), values: 0, uncompressedBytes: 0,
            compressedBytes: 0, dataPageOffset: offset, dictionaryPageOffset: nil, statistics: nil)
    }

    /// The values of rows `range`, nulls left out, as PLAIN bytes per value (for statistics and dictionaries).
    mutating func write(_ column: ColumnBuffer, _ range: Range<Int>, to out: OutputFile) throws(StrataError) {
        let present = range.filter { !column.isNull($0) }
        let scale: Int64 = field.timeUnit == .seconds ? 1_000 : 1
        var levels: [UInt32] = []
        if field.optional { levels = range.map { column.isNull($0) ? 0 : 1 } }
        meta.values = Int64(range.count)
        meta.statistics = statistics(column, present, nulls: Int64(range.count - present.count), scale: scale)
        if let dictionary = ParquetDictionary(column, present, scale: scale) {
            try writeDictionaryPage(dictionary, to: out)
            try writeDataPages(rows: range.count, levels: levels, values: present.count, to: out) { lo, hi, body in
                let indices = Array(dictionary.indices[lo..<hi])
                body.append(UInt8(dictionary.width))
                ParquetEncoding.encodeHybrid(indices, width: dictionary.width, into: &body)
            }
            meta.encodings = [.plain, .rle, .rleDictionary]
        } else {
            try writeDataPages(rows: range.count, levels: levels, values: present.count, to: out) { lo, hi, body in
                for r in present[lo..<hi] { Self.plain(column, r, scale: scale, into: &body) }
            }
            meta.encodings = [.plain, .rle]
        }
    }

    static func plain(_ column: ColumnBuffer, _ r: Int, scale: Int64, into out: inout [UInt8]) {
        if column.isText {
            let bytes = column.strings[r].utf8
            var n = UInt32(bytes.count).littleEndian
            withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
            out.append(contentsOf: bytes)
        } else {
            var v = (column.bits[r] &* scale).littleEndian
            withUnsafeBytes(of: &v) { out.append(contentsOf: $0) }
        }
    }

    private mutating func writeDictionaryPage(_ d: ParquetDictionary, to out: OutputFile) throws(StrataError) {
        meta.dictionaryPageOffset = Int64(out.position)
        var h = ThriftWriter()
        compressed.removeAll(keepingCapacity: true)
        codec.compress(d.plain, into: &compressed)
        h.structValue { p in
            p.i32(1, Int32(ParquetPageType.dictionary.rawValue))
            p.i32(2, Int32(d.plain.count))
            p.i32(3, Int32(compressed.count))
            p.structField(7) { dp in
                dp.i32(1, Int32(d.count))
                dp.i32(2, Int32(ParquetValueEncoding.plain.rawValue))
            }
        }
        emit(header: h.bytes, uncompressed: d.plain.count, to: out)
        meta.dataPageOffset = Int64(out.position)
    }

    /// Data pages of about `pageBytes` of values each. `encode(lo, hi, &body)` appends the values
    /// `lo..<hi` (of the present ones) to a page's body.
    private mutating func writeDataPages(
        rows: Int, levels: [UInt32], values: Int, to out: OutputFile, _ encode: (Int, Int, inout [UInt8]) -> Void
    ) throws(StrataError) {
        let perPage = max(1, pageBytes / (field.type == .string ? 16 : 8))
        var row = 0, value = 0
        while row < rows {
            let pageRows = min(perPage, rows - row)
            page.removeAll(keepingCapacity: true)
            var pageValues = pageRows
            if !levels.isEmpty {
                let slice = Array(levels[row..<row + pageRows])
                pageValues = slice.reduce(0) { $0 + Int($1) }
                var hybrid: [UInt8] = []
                ParquetEncoding.encodeHybrid(slice, width: 1, into: &hybrid)
                var n = UInt32(hybrid.count).littleEndian
                withUnsafeBytes(of: &n) { page.append(contentsOf: $0) }
                page.append(contentsOf: hybrid)
            }
            encode(value, value + pageValues, &page)
            try writeDataPage(values: pageRows, to: out)
            row += pageRows
            value += pageValues
        }
    }

    private mutating func writeDataPage(values: Int, to out: OutputFile) throws(StrataError) {
        let dictionary = meta.dictionaryPageOffset != nil
        compressed.removeAll(keepingCapacity: true)
        codec.compress(page, into: &compressed)
        var h = ThriftWriter()
        h.structValue { p in
            p.i32(1, Int32(ParquetPageType.data.rawValue))
            p.i32(2, Int32(page.count))
            p.i32(3, Int32(compressed.count))
            p.structField(5) { d in
                d.i32(1, Int32(values))
                d.i32(2, Int32((dictionary ? ParquetValueEncoding.rleDictionary : .plain).rawValue))
                d.i32(3, Int32(ParquetValueEncoding.rle.rawValue))
                d.i32(4, Int32(ParquetValueEncoding.rle.rawValue))
            }
        }
        emit(header: h.bytes, uncompressed: page.count, to: out)
        try out.flushIfFull()
    }

    private mutating func emit(header: [UInt8], uncompressed: Int, to out: OutputFile) {
        out.append(contentsOf: header)
        out.append(contentsOf: compressed)
        meta.uncompressedBytes += Int64(header.count + uncompressed)
        meta.compressedBytes += Int64(header.count + compressed.count)
    }

    /// Min and max under TYPE_ORDER (signed integers, doubles without NaN and with -0.0 as the least
    /// zero and +0.0 the greatest, bytes unsigned), the null count, and the NaN count for doubles.
    /// Text bounds are left out when either is over 64 bytes.
    private func statistics(_ column: ColumnBuffer, _ present: [Int], nulls: Int64, scale: Int64) -> ParquetStatistics {
        var s = ParquetStatistics(min: nil, max: nil, nullCount: nulls, nanCount: nil)
        func le(_ v: Int64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        switch (field.type, field.timeUnit) {
        case (.string, _):
            guard let lo = present.min(by: { utf8Less(column.strings[$0], column.strings[$1]) }),
                let hi = present.max(by: { utf8Less(column.strings[$0], column.strings[$1]) })
            else { break }
            let a = Array(column.strings[lo].utf8), b = Array(column.strings[hi].utf8)
            if a.count <= 64 && b.count <= 64 { (s.min, s.max) = (a, b) }
        case (.float64, nil):
            var nan: Int64 = 0
            var lo = Double.infinity, hi = -Double.infinity, any = false
            for r in present {
                let d = Double(bitPattern: UInt64(bitPattern: column.bits[r]))
                if d.isNaN { nan += 1; continue }
                any = true
                lo = Swift.min(lo, d)
                hi = Swift.max(hi, d)
            }
            s.nanCount = nan
            if any {
                if lo == 0 { lo = -0.0 }
                if hi == 0 { hi = 0.0 }
                (s.min, s.max) = (le(Int64(bitPattern: lo.bitPattern)), le(Int64(bitPattern: hi.bitPattern)))
            }
        default:
            guard let lo = present.map({ column.bits[$0] }).min(), let hi = present.map({ column.bits[$0] }).max() else { break }
            (s.min, s.max) = (le(lo &* scale), le(hi &* scale))
        }
        return s
    }
}

/// A column chunk's dictionary: distinct values in first-seen order (PLAIN-encoded) and each present
/// value's index. Nil when the values are too many or too varied for a dictionary to pay.
struct ParquetDictionary {
    var plain: [UInt8] = []
    var count = 0
    var indices: [UInt32] = []
    var width: Int { Swift.max(1, ParquetEncoding.bitWidth(UInt64(Swift.max(count, 1) - 1))) }

    init?(_ column: ColumnBuffer, _ present: [Int], scale: Int64) {
        if present.isEmpty { return nil }
        indices.reserveCapacity(present.count)
        var plainBytes = 0
        if column.isText {
            var seen: [String: UInt32] = [:]
            for r in present {
                let s = column.strings[r]
                plainBytes += 4 + s.utf8.count
                if let k = seen[s] { indices.append(k); continue }
                if seen.count >= ParquetFileWriter.dictionaryValuesMax { return nil }
                seen[s] = UInt32(seen.count)
                indices.append(UInt32(seen.count - 1))
                ParquetChunkWriter.plain(column, r, scale: 1, into: &plain)
                if plain.count > ParquetFileWriter.dictionaryBytesMax { return nil }
            }
            count = seen.count
        } else {
            var seen: [Int64: UInt32] = [:]
            for r in present {
                let v = column.bits[r]
                if let k = seen[v] { indices.append(k); continue }
                if seen.count >= ParquetFileWriter.dictionaryValuesMax { return nil }
                seen[v] = UInt32(seen.count)
                indices.append(UInt32(seen.count - 1))
                ParquetChunkWriter.plain(column, r, scale: scale, into: &plain)
            }
            count = seen.count
            plainBytes = 8 * present.count
        }
        // Worth it when the dictionary and the packed indices take under 3/4 of the plain values.
        if plain.count + present.count * width / 8 > plainBytes * 3 / 4 { return nil }
    }
}
