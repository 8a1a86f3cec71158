/// Decodes the pages of one column chunk into `ParquetColumnData` (see `ParquetFile.read`).
struct ParquetChunkDecoder {
    typealias Malformed = ParquetEncoding.Malformed

    let leaf: ParquetLeaf
    let chunk: ParquetFile.Chunk
    let rows: Int
    private(set) var data = ParquetColumnData()
    private var dictionary: ParquetColumnData?
    private var dictionaryCount = 0
    private var page = -1
    private var buffer: [UInt8] = []
    private var levels: [UInt32] = []
    /// Whether `data.nulls` is kept (from the first null on).
    private var tracksNulls = false
    private var indices: [UInt32] = []
    /// A page claiming more than this uncompressed is taken for damage (writers use about 1 MiB).
    static let pageBytesMax = 256 << 20

    init(leaf: ParquetLeaf, chunk: ParquetFile.Chunk, rows: Int) {
        self.leaf = leaf
        self.chunk = chunk
        self.rows = rows
    }

    var pageContext: String { page >= 0 ? ", page \(page)" : "" }

    mutating func decode(_ bytes: UnsafeRawBufferPointer) throws(Malformed) {
        guard chunk.values == rows else { throw Malformed("the chunk has \(chunk.values) values where the row group has \(rows) rows") }
        var pos = 0
        while count < rows {
            guard pos < bytes.count else { throw Malformed("the column chunk ends after \(count) of \(rows) values") }
            page += 1
            var r = ThriftReader(bytes, at: pos)
            let header: ThriftStruct
            do { header = try r.readStruct() } catch { throw Malformed("damaged page header (\(error.message))") }
            pos = r.position
            guard let type = header.int(1), let size = header.int(2), let stored = header.int(3), size >= 0, stored >= 0,
                stored <= Int64(bytes.count - pos), size <= Int64(Self.pageBytesMax)
            else { throw Malformed("a page's sizes lie (or run past its column chunk)") }
            let body = UnsafeRawBufferPointer(rebasing: bytes[pos..<pos + Int(stored)])
            pos += Int(stored)
            switch type {
            case ParquetPageType.dictionary.rawValue: try dictionaryPage(header, body, size: Int(size))
            case ParquetPageType.data.rawValue: try dataPageV1(header, body, size: Int(size))
            case ParquetPageType.dataV2.rawValue: try dataPageV2(header, body, size: Int(size))
            case ParquetPageType.index.rawValue: continue
            default: throw Malformed("unknown page type \(type)")
            }
        }
        page = -1
    }

    private var count: Int { usesDoubles ? data.doubles.count : usesStrings ? data.strings.count : data.ints.count }

    private var isDecimal: Bool {
        if case .decimal = leaf.logical { return true }
        return false
    }

    private mutating func decompress(_ body: UnsafeRawBufferPointer, size: Int) throws(Malformed) {
        if !chunk.codec.decompress(body, size: size, into: &buffer) {
            throw Malformed("the \(chunk.codec.name) data does not decompress to the \(size) bytes the page header says")
        }
    }

    private mutating func dictionaryPage(_ header: ThriftStruct, _ body: UnsafeRawBufferPointer, size: Int) throws(Malformed) {
        guard dictionary == nil, count == 0 else { throw Malformed("a second dictionary page, or one after data pages") }
        guard let d = header.structure(7), let n = d.int(1), n >= 0, n <= Int64(size) + 1 else { throw Malformed("damaged dictionary page header") }
        let encoding = d.int(2) ?? 0
        guard encoding == ParquetValueEncoding.plain.rawValue || encoding == ParquetValueEncoding.plainDictionary.rawValue else {
            throw Malformed("a dictionary page in encoding \(encoding) (PLAIN expected)")
        }
        try decompress(body, size: size)
        var values = ParquetColumnData()
        let b = buffer
        try b.withBytes { (raw) throws(Malformed) in
            var cursor = ByteCursor(raw)
            try plain(&cursor, count: Int(n), into: &values)
        }
        dictionary = values
        dictionaryCount = Int(n)
    }

    private mutating func dataPageV1(_ header: ThriftStruct, _ body: UnsafeRawBufferPointer, size: Int) throws(Malformed) {
        guard let d = header.structure(5), let n = d.int(1), let encoding = d.int(2), n >= 0, n <= Int64(rows - count) else {
            throw Malformed("damaged data page header (or more values than the row group has)")
        }
        try decompress(body, size: size)
        let b = buffer
        try b.withBytes { (raw) throws(Malformed) in
            var cursor = ByteCursor(raw)
            levels.removeAll(keepingCapacity: true)
            if leaf.optional {
                let levelEncoding = d.int(3) ?? ParquetValueEncoding.rle.rawValue
                guard levelEncoding == ParquetValueEncoding.rle.rawValue else {
                    throw Malformed("definition levels in encoding \(levelEncoding) (RLE expected)")
                }
                let length = try cursor.length()
                guard length <= cursor.remaining else { throw Malformed("definition levels run past the page") }
                try ParquetEncoding.decodeHybrid(cursor.take(length), width: 1, count: Int(n), limit: 2, into: &levels)
            }
            try values(&cursor, encoding: encoding, rows: Int(n))
        }
    }

    private mutating func dataPageV2(_ header: ThriftStruct, _ body: UnsafeRawBufferPointer, size: Int) throws(Malformed) {
        guard let d = header.structure(8), let n = d.int(1), let encoding = d.int(4), let defLength = d.int(5), let repLength = d.int(6),
            n >= 0, n <= Int64(rows - count), defLength >= 0, repLength >= 0, defLength + repLength <= Int64(body.count),
            defLength + repLength <= Int64(size)
        else { throw Malformed("damaged data page v2 header (or more values than the row group has)") }
        guard repLength == 0 else { throw Malformed("repetition levels in a flat column") }
        levels.removeAll(keepingCapacity: true)
        if leaf.optional {
            try ParquetEncoding.decodeHybrid(
                UnsafeRawBufferPointer(rebasing: body[0..<Int(defLength)]), width: 1, count: Int(n), limit: 2, into: &levels)
        }
        let rest = UnsafeRawBufferPointer(rebasing: body[Int(defLength)...])
        let valuesSize = size - Int(defLength)
        if d.bool(7) ?? true {
            try decompress(rest, size: valuesSize)
        } else {
            guard rest.count == valuesSize else { throw Malformed("an uncompressed page's sizes disagree") }
            buffer = Array(rest)
        }
        let b = buffer
        try b.withBytes { (raw) throws(Malformed) in
            var cursor = ByteCursor(raw)
            try values(&cursor, encoding: encoding, rows: Int(n))
        }
    }

    /// Decodes a page's values (`rows` rows, the present ones per `levels`) and appends them, with
    /// placeholders and null marks for the absent ones. A page without nulls (most are) is decoded
    /// straight onto the column's data: through a page of its own, every value was copied once more.
    private mutating func values(_ cursor: inout ByteCursor, encoding: Int64, rows n: Int) throws(Malformed) {
        let present = levels.isEmpty ? n : levels.reduce(0) { $0 + Int($1) }
        // Every row present (an optional column without nulls, as most writers make them): each level
        // 1, one value a row. A level above 1 (damage: columns are flat) goes the row-by-row way.
        if !levels.contains(where: { $0 != 1 }) {
            var column = data
            data = ParquetColumnData()  // `column` holds the only reference: appends do not copy
            defer { data = column }
            try decodeValues(&cursor, encoding: encoding, count: present, into: &column)
            if tracksNulls { column.nulls += repeatElement(false, count: levels.isEmpty ? n : levels.count) }
            return
        }
        var page = ParquetColumnData()
        try decodeValues(&cursor, encoding: encoding, count: present, into: &page)
        spread(page)
    }

    /// Decodes `count` values in `encoding`, appending them to `out`.
    private mutating func decodeValues(
        _ cursor: inout ByteCursor, encoding: Int64, count present: Int, into out: inout ParquetColumnData
    ) throws(Malformed) {
        switch ParquetValueEncoding(rawValue: encoding) {
        case .plain?: try plain(&cursor, count: present, into: &out)
        case .plainDictionary?, .rleDictionary?: try fromDictionary(&cursor, count: present, into: &out)
        case .rle? where leaf.physical == .boolean:
            let length = try cursor.length()
            guard length <= cursor.remaining else { throw Malformed("boolean runs run past the page") }
            indices.removeAll(keepingCapacity: true)
            try ParquetEncoding.decodeHybrid(cursor.take(length), width: 1, count: present, limit: 2, into: &indices)
            out.ints.append(contentsOf: indices.lazy.map { Int64($0) })
        case .deltaBinaryPacked? where leaf.physical == .int32 || leaf.physical == .int64:
            let start = out.ints.count
            try ParquetEncoding.decodeDelta(cursor.rest(), count: present, into: &out.ints)
            if leaf.physical == .int32 {
                for i in start..<out.ints.count { out.ints[i] = Int64(Int32(truncatingIfNeeded: out.ints[i])) }
            }
        case .deltaLengthByteArray? where leaf.physical == .byteArray: try deltaLengths(&cursor, count: present, into: &out)
        case .deltaByteArray? where leaf.physical == .byteArray: try deltaStrings(&cursor, count: present, into: &out)
        case .byteStreamSplit?: try streamSplit(&cursor, count: present, into: &out)
        default: throw Malformed("values in encoding \(encoding), which Strata does not read for \(leaf.physical) columns")
        }
    }

    /// Appends a page's present values, spread over `levels` (an optional column with nulls): a
    /// placeholder and a null mark for each absent row.
    private mutating func spread(_ page: ParquetColumnData) {
        if !tracksNulls && levels.contains(0) {
            data.nulls = [Bool](repeating: false, count: count)
            tracksNulls = true
        }
        let (doubles, strings) = (usesDoubles, usesStrings)
        var k = 0
        for level in levels {
            let isNull = level == 0
            if tracksNulls { data.nulls.append(isNull) }
            if doubles {
                data.doubles.append(isNull ? 0 : page.doubles[k])
            } else if strings {
                data.strings.append(isNull ? "" : page.strings[k])
            } else {
                data.ints.append(isNull ? 0 : page.ints[k])
            }
            if !isNull { k += 1 }
        }
    }

    private var usesDoubles: Bool { leaf.physical == .float || leaf.physical == .double }
    private var usesStrings: Bool { (leaf.physical == .byteArray || leaf.physical == .fixedLenByteArray) && !isDecimal }
    private var usesInts: Bool { !usesDoubles && !usesStrings }

    // MARK: Encodings

    /// Appends the little-endian 8-byte words of `raw` (PLAIN int64 or double values) to `out` in
    /// one copy: a value at a time, with a bounds check and an append each, was 4% of an import.
    private static func appendWords<T: BitwiseCopyable>(_ raw: UnsafeRawBufferPointer, to out: inout [T], zero: T) {
        precondition(MemoryLayout<T>.size == 8 && raw.count % 8 == 0)
        let n = raw.count / 8
        #if _endian(little)
        let start = out.count
        out.append(contentsOf: repeatElement(zero, count: n))
        out.withUnsafeMutableBytes { dst in
            UnsafeMutableRawBufferPointer(rebasing: dst[start * 8..<(start + n) * 8]).copyMemory(from: raw)
        }
        #else
        for i in 0..<n { out.append(unsafeBitCast(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)), to: T.self)) }
        #endif
    }

    private func plain(_ c: inout ByteCursor, count n: Int, into out: inout ParquetColumnData) throws(Malformed) {
        switch leaf.physical {
        case .boolean:
            guard (n + 7) / 8 <= c.remaining else { throw Malformed("booleans run past the page") }
            try c.unpack(width: 1, count: n, bytes: (n + 7) / 8) { out.ints.append(Int64($0)) }
        case .int32:
            guard n <= c.remaining / 4 else { throw Malformed("values run past the page") }
            for _ in 0..<n { out.ints.append(Int64(Int32(bitPattern: try c.u32()))) }
        case .int64:
            guard n <= c.remaining / 8 else { throw Malformed("values run past the page") }
            Self.appendWords(c.take(n * 8), to: &out.ints, zero: 0)
        case .int96:
            guard n <= c.remaining / 12 else { throw Malformed("values run past the page") }
            for _ in 0..<n { out.ints.append(try Self.int96(c.u64(), c.u32())) }
        case .float:
            guard n <= c.remaining / 4 else { throw Malformed("values run past the page") }
            for _ in 0..<n { out.doubles.append(Double(Float(bitPattern: try c.u32()))) }
        case .double:
            guard n <= c.remaining / 8 else { throw Malformed("values run past the page") }
            Self.appendWords(c.take(n * 8), to: &out.doubles, zero: 0)
        case .byteArray:
            guard n <= c.remaining / 4 else { throw Malformed("values run past the page") }
            for _ in 0..<n {
                let length = try c.length()
                guard length <= c.remaining else { throw Malformed("a byte array runs past the page") }
                try bytes(c.take(length), into: &out)
            }
        case .fixedLenByteArray:
            let w = leaf.typeLength
            guard n <= c.remaining / w else { throw Malformed("values run past the page") }
            for _ in 0..<n { try bytes(c.take(w), into: &out) }
        }
    }

    /// A byte array value: an unscaled decimal (big-endian two's complement) or UTF-8 text.
    private func bytes(_ b: UnsafeRawBufferPointer, into out: inout ParquetColumnData) throws(Malformed) {
        if isDecimal {
            guard b.count <= 8 || b[..<(b.count - 8)].allSatisfy({ $0 == (b[b.count - 8] & 0x80 == 0 ? 0 : 0xFF) }) else {
                throw Malformed("a decimal does not fit in 64 bits")
            }
            var v: Int64 = b.first.map { $0 & 0x80 != 0 ? -1 : 0 } ?? 0
            for byte in b.suffix(8) { v = v << 8 | Int64(byte) }
            out.ints.append(v)
            return
        }
        guard let s = validUTF8(b) else { throw Malformed("a text value is not valid UTF-8") }
        out.strings.append(s)
    }

    /// INT96 timestamps (nanoseconds of the day, then the Julian day) as nanoseconds since 1970.
    private static func int96(_ nanos: UInt64, _ julianDay: UInt32) throws(Malformed) -> Int64 {
        let days = Int64(julianDay) - 2_440_588
        let (a, o1) = days.multipliedReportingOverflow(by: 86_400_000_000_000)
        let (v, o2) = a.addingReportingOverflow(Int64(bitPattern: nanos))
        guard !o1, !o2 else { throw Malformed("an INT96 timestamp out of the 64-bit nanosecond range") }
        return v
    }

    private mutating func fromDictionary(_ c: inout ByteCursor, count n: Int, into out: inout ParquetColumnData) throws(Malformed) {
        guard let dictionary else { throw Malformed("dictionary-encoded values without a dictionary page") }
        if n == 0 { return }
        let width = Int(try c.byte())
        indices.removeAll(keepingCapacity: true)
        try ParquetEncoding.decodeHybrid(c.rest(), width: width, count: n, limit: UInt32(clamping: dictionaryCount), into: &indices)
        if !dictionary.ints.isEmpty { out.ints.append(gathering: dictionary.ints, at: indices) }
        if !dictionary.doubles.isEmpty { out.doubles.append(gathering: dictionary.doubles, at: indices) }
        if !dictionary.strings.isEmpty { out.strings += Array(gathering: dictionary.strings, at: indices) }
    }

    private func deltaLengths(_ c: inout ByteCursor, count n: Int, into out: inout ParquetColumnData) throws(Malformed) {
        var lengths: [Int64] = []
        let used = try ParquetEncoding.decodeDelta(c.rest(), count: n, into: &lengths)
        c.skip(used)
        for length in lengths {
            guard length >= 0, length <= c.remaining else { throw Malformed("a byte array runs past the page") }
            try bytes(c.take(Int(length)), into: &out)
        }
    }

    private func deltaStrings(_ c: inout ByteCursor, count n: Int, into out: inout ParquetColumnData) throws(Malformed) {
        var prefixes: [Int64] = [], suffixes: [Int64] = []
        c.skip(try ParquetEncoding.decodeDelta(c.rest(), count: n, into: &prefixes))
        c.skip(try ParquetEncoding.decodeDelta(c.rest(), count: n, into: &suffixes))
        var previous: [UInt8] = []
        for (p, s) in zip(prefixes, suffixes) {
            guard p >= 0, p <= previous.count, s >= 0, s <= c.remaining else { throw Malformed("a prefix or suffix runs past its value") }
            var value = Array(previous[0..<Int(p)])
            value += c.take(Int(s))
            try value.withBytes { (b) throws(Malformed) in try bytes(b, into: &out) }
            previous = value
        }
    }

    private func streamSplit(_ c: inout ByteCursor, count n: Int, into out: inout ParquetColumnData) throws(Malformed) {
        let size: Int
        switch leaf.physical {
        case .float, .int32: size = 4
        case .double, .int64: size = 8
        case .fixedLenByteArray: size = leaf.typeLength
        default: throw Malformed("BYTE_STREAM_SPLIT values in a \(leaf.physical) column")
        }
        guard n <= c.remaining / size else { throw Malformed("values run past the page") }
        var joined: [UInt8] = []
        try ParquetEncoding.unsplit(c.take(n * size), size: size, count: n, into: &joined)
        try joined.withBytes { (raw) throws(Malformed) in
            var j = ByteCursor(raw)
            try plain(&j, count: n, into: &out)
        }
    }
}

extension ByteCursor {
    mutating func u32() throws(ParquetEncoding.Malformed) -> UInt32 {
        guard remaining >= 4 else { throw ParquetEncoding.Malformed("the data ends early") }
        defer { skip(4) }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    /// A 4-byte length prefix.
    mutating func length() throws(ParquetEncoding.Malformed) -> Int { Int(try u32()) }

    mutating func u64() throws(ParquetEncoding.Malformed) -> UInt64 {
        guard remaining >= 8 else { throw ParquetEncoding.Malformed("the data ends early") }
        defer { skip(8) }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    /// The next `n` bytes (the caller checked they are there), skipped.
    mutating func take(_ n: Int) -> UnsafeRawBufferPointer {
        defer { skip(n) }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + n])
    }

    func rest() -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[position...]) }
}
