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

    /// Writes rows `range` of `columns` (one per field, in order) as a row group. The column chunks
    /// are encoded in memory on every core, then written in order.
    func writeRowGroup(_ columns: [ColumnBuffer], _ range: Range<Int>) throws(StrataError) {
        precondition(columns.count == fields.count)
        if range.isEmpty { return }
        let start = Int64(out.position)
        let encoded = parallelMap(fields.count) { c in
            var chunk = ParquetChunkWriter(field: fields[c], codec: codec, pageBytes: pageBytes)
            let bytes = chunk.encode(columns[c], range)
            return (chunk.meta, bytes)
        }
        var chunks: [ParquetChunkMeta] = []
        for (meta, bytes) in encoded {
            chunks.append(meta.placed(at: Int64(out.position)))
            out.append(contentsOf: bytes)
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

/// Encodes one column chunk in memory: its pages, and its footer description with offsets
/// relative to the chunk's start (`ParquetChunkMeta.placed` makes them absolute).
struct ParquetChunkWriter {
    let field: ParquetFileWriter.Field
    let codec: ParquetCodec
    let pageBytes: Int
    private(set) var meta: ParquetChunkMeta
    private var out: [UInt8] = []
    private var page: [UInt8] = []
    private var compressed: [UInt8] = []

    init(field: ParquetFileWriter.Field, codec: ParquetCodec, pageBytes: Int) {
        self.field = field
        self.codec = codec
        self.pageBytes = pageBytes
        let physical: ParquetPhysical = field.type == .string ? .byteArray : field.type == .float64 && field.timeUnit == nil ? .double : .int64
        meta = ParquetChunkMeta(
            physical: physical, encodings: [], path: field.name, codec: Int64(codec.rawValue), values: 0, uncompressedBytes: 0,
            compressedBytes: 0, dataPageOffset: 0, dictionaryPageOffset: nil, statistics: nil)
    }

    /// The pages of rows `range` of `column`.
    mutating func encode(_ column: ColumnBuffer, _ range: Range<Int>) -> [UInt8] {
        let scale: Int64 = field.timeUnit == .seconds ? 1_000 : 1
        meta.values = Int64(range.count)
        if column.hasNulls && column.nulls[range].contains(true) {
            let present = range.filter { !column.isNull($0) }
            encode(column, present, rows: range, scale: scale)
        } else {
            encode(column, range, rows: range, scale: scale)
        }
        return out
    }

    private mutating func encode<Rows: RandomAccessCollection<Int>>(_ column: ColumnBuffer, _ present: Rows, rows range: Range<Int>, scale: Int64) {
        var levels: [UInt32] = []
        if field.optional { levels = range.map { column.isNull($0) ? 0 : 1 } }
        let dictionary = ParquetDictionary(column, present, scale: scale)
        meta.statistics = ParquetStatistics(column, present, dictionary: dictionary, field: field, nulls: Int64(range.count - present.count), scale: scale)
        if let dictionary {
            writeDictionaryPage(dictionary)
            writeDataPages(rows: range.count, levels: levels) { lo, hi, body in
                body.append(UInt8(dictionary.width))
                ParquetEncoding.encodeHybrid(dictionary.indices[lo..<hi], width: dictionary.width, into: &body)
            }
            meta.encodings = [.plain, .rle, .rleDictionary]
        } else {
            let base = present.startIndex
            writeDataPages(rows: range.count, levels: levels) { lo, hi, body in
                for k in lo..<hi { Self.plain(column, present[present.index(base, offsetBy: k)], scale: scale, into: &body) }
            }
            meta.encodings = [.plain, .rle]
        }
    }

    @inline(__always)
    static func plain(_ column: ColumnBuffer, _ r: Int, scale: Int64, into out: inout [UInt8]) {
        if column.isText {
            let bytes = column.strings[r].utf8
            appendLE(UInt32(bytes.count), to: &out)
            out.append(contentsOf: bytes)
        } else {
            appendLE(UInt64(bitPattern: column.bits[r] &* scale), to: &out)
        }
    }

    @inline(__always)
    static func appendLE<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        var v = v
        for _ in 0..<MemoryLayout<T>.size {
            out.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    private mutating func writeDictionaryPage(_ d: ParquetDictionary) {
        meta.dictionaryPageOffset = Int64(out.count)
        compressed.removeAll(keepingCapacity: true)
        codec.compress(d.plain, into: &compressed)
        var h = ThriftWriter()
        h.structValue { p in
            p.i32(1, Int32(ParquetPageType.dictionary.rawValue))
            p.i32(2, Int32(d.plain.count))
            p.i32(3, Int32(compressed.count))
            p.structField(7) { dp in
                dp.i32(1, Int32(d.count))
                dp.i32(2, Int32(ParquetValueEncoding.plain.rawValue))
            }
        }
        emit(header: h.bytes, uncompressed: d.plain.count)
        meta.dataPageOffset = Int64(out.count)
    }

    /// Data pages of about `pageBytes` of values each. `encode(lo, hi, &body)` appends the values
    /// `lo..<hi` (of the present ones) to a page's body.
    private mutating func writeDataPages(rows: Int, levels: [UInt32], _ encode: (Int, Int, inout [UInt8]) -> Void) {
        let perPage = max(1, pageBytes / (field.type == .string ? 16 : 8))
        var row = 0, value = 0
        while row < rows {
            let pageRows = min(perPage, rows - row)
            page.removeAll(keepingCapacity: true)
            var pageValues = pageRows
            if !levels.isEmpty {
                let slice = levels[row..<row + pageRows]
                pageValues = slice.reduce(0) { $0 + Int($1) }
                var hybrid: [UInt8] = []
                ParquetEncoding.encodeHybrid(slice, width: 1, into: &hybrid)
                Self.appendLE(UInt32(hybrid.count), to: &page)
                page.append(contentsOf: hybrid)
            }
            encode(value, value + pageValues, &page)
            writeDataPage(values: pageRows)
            row += pageRows
            value += pageValues
        }
    }

    private mutating func writeDataPage(values: Int) {
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
        emit(header: h.bytes, uncompressed: page.count)
    }

    private mutating func emit(header: [UInt8], uncompressed: Int) {
        out.append(contentsOf: header)
        out.append(contentsOf: compressed)
        meta.uncompressedBytes += Int64(header.count + uncompressed)
        meta.compressedBytes += Int64(header.count + compressed.count)
    }
}

extension ParquetStatistics {
    /// Min and max under TYPE_ORDER (signed integers, doubles without NaN and with -0.0 as the least
    /// zero and +0.0 the greatest, bytes unsigned), the null count, and the NaN count for doubles.
    /// Text bounds come from the dictionary when there is one, and are left out when over 64 bytes.
    init<Rows: Collection<Int>>(
        _ column: ColumnBuffer, _ present: Rows, dictionary: ParquetDictionary?, field: ParquetFileWriter.Field, nulls: Int64, scale: Int64
    ) {
        self.init(min: nil, max: nil, nullCount: nulls, nanCount: nil)
        func le(_ v: Int64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        switch (field.type, field.timeUnit) {
        case (.string, _):
            var lo: String?, hi: String?
            func offer(_ s: String) {
                if lo == nil || utf8Less(s, lo!) { lo = s }
                if hi == nil || utf8Less(hi!, s) { hi = s }
            }
            if let dictionary { dictionary.texts.forEach(offer) } else {
                var previous: String?
                for r in present where column.strings[r] != previous {
                    offer(column.strings[r])
                    previous = column.strings[r]
                }
            }
            if let lo, let hi, lo.utf8.count <= 64, hi.utf8.count <= 64 { (min, max) = (Array(lo.utf8), Array(hi.utf8)) }
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
            nanCount = nan
            if any {
                if lo == 0 { lo = -0.0 }
                if hi == 0 { hi = 0.0 }
                (min, max) = (le(Int64(bitPattern: lo.bitPattern)), le(Int64(bitPattern: hi.bitPattern)))
            }
        default:
            guard !present.isEmpty else { break }
            var lo = Int64.max, hi = Int64.min
            for r in present {
                lo = Swift.min(lo, column.bits[r])
                hi = Swift.max(hi, column.bits[r])
            }
            (min, max) = (le(lo &* scale), le(hi &* scale))
        }
    }
}

/// A column chunk's dictionary: distinct values in first-seen order (PLAIN-encoded) and each present
/// value's index. Nil when the values are too many or too varied for a dictionary to pay. A value
/// equal to the one before it (runs are common in time series) skips the hash lookup.
struct ParquetDictionary {
    var plain: [UInt8] = []
    var count = 0
    var indices: [UInt32] = []
    /// The distinct texts, for a text column's statistics.
    var texts: [String] = []
    var width: Int { Swift.max(1, ParquetEncoding.bitWidth(UInt64(Swift.max(count, 1) - 1))) }

    init?<Rows: Collection<Int>>(_ column: ColumnBuffer, _ present: Rows, scale: Int64) {
        if present.isEmpty { return nil }
        indices.reserveCapacity(present.count)
        let plainBytes: Int
        if column.isText {
            var seen: [String: UInt32] = [:]
            var bytes = 0
            var previous: (String, UInt32)?
            for r in present {
                let s = column.strings[r]
                bytes += 4 + s.utf8.count
                if let p = previous, p.0 == s { indices.append(p.1); continue }
                let k: UInt32
                if let known = seen[s] { k = known } else {
                    if seen.count >= ParquetFileWriter.dictionaryValuesMax { return nil }
                    k = UInt32(seen.count)
                    seen[s] = k
                    texts.append(s)
                    ParquetChunkWriter.plain(column, r, scale: 1, into: &plain)
                    if plain.count > ParquetFileWriter.dictionaryBytesMax { return nil }
                }
                indices.append(k)
                previous = (s, k)
            }
            count = seen.count
            plainBytes = bytes
        } else {
            var seen = Int64Interner()
            indices = [UInt32](repeating: 0, count: present.count)
            var previous = column.bits[present.first!] &+ 1, k: UInt32 = 0
            var i = 0
            for r in present {
                let v = column.bits[r]
                if v != previous {
                    let new: Bool
                    (k, new) = seen.intern(v)
                    if new {
                        if seen.count > ParquetFileWriter.dictionaryValuesMax { return nil }
                        ParquetChunkWriter.plain(column, r, scale: scale, into: &plain)
                    }
                    previous = v
                }
                indices[i] = k
                i += 1
            }
            count = seen.count
            plainBytes = 8 * present.count
        }
        // Worth it when the dictionary and the packed indices take under 3/4 of the plain values.
        if plain.count + present.count * width / 8 > plainBytes * 3 / 4 { return nil }
    }
}

/// Numbers each distinct Int64 in the order first seen: an open-addressing table with a
/// multiplicative hash, several times faster than `Dictionary` for this one job.
struct Int64Interner {
    private var keys = [Int64](repeating: 0, count: 1024)
    private var numbers = [UInt32](repeating: .max, count: 1024)
    private var shift: UInt64 = 64 - 10
    private(set) var count = 0

    /// The number of `v`, and whether this call gave it.
    @inline(__always)
    mutating func intern(_ v: Int64) -> (UInt32, Bool) {
        let mask = keys.count - 1
        var slot = Int(truncatingIfNeeded: (UInt64(bitPattern: v) &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while numbers[slot] != .max {
            if keys[slot] == v { return (numbers[slot], false) }
            slot = (slot + 1) & mask
        }
        keys[slot] = v
        numbers[slot] = UInt32(count)
        count += 1
        if count * 2 > keys.count { grow() }
        return (UInt32(count - 1), true)
    }

    private mutating func grow() {
        let oldKeys = keys, oldNumbers = numbers
        keys = [Int64](repeating: 0, count: oldKeys.count * 2)
        numbers = [UInt32](repeating: .max, count: oldKeys.count * 2)
        shift -= 1
        let mask = keys.count - 1
        for (k, n) in zip(oldKeys, oldNumbers) where n != .max {
            var slot = Int(truncatingIfNeeded: (UInt64(bitPattern: k) &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while numbers[slot] != .max { slot = (slot + 1) & mask }
            keys[slot] = k
            numbers[slot] = n
        }
    }
}
