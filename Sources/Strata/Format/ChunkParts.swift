/// The parts of a value column's chunk in a version 2 block (Format.md, "Column chunks"): the
/// numbers of the null rows when some rows are null, the dictionary of a text column, then the
/// values of the rows that are not null (a text column's codes into its dictionary).
enum ChunkParts {
    static let nullsHeaderBytes = 24
    static let dictionaryHeaderBytes = 16

    /// A chunk's parts, located and bounds-checked, not yet decoded.
    struct Located {
        var nullsEncoding = Encoding(flags: 0)
        var nullsRawLength = 0
        var nulls: UnsafeRawBufferPointer? = nil
        var dictionaryCount = 0
        var dictionaryRawLength = 0
        var dictionaryCompressed = false
        var dictionary: UnsafeRawBufferPointer? = nil
        var values: UnsafeRawBufferPointer
    }

    // MARK: Writing

    /// Appends the null part: its header, then the row numbers encoded as a chunk of codes; pads to 8.
    static func appendNulls(_ rows: [Int64], scratch: inout EncoderScratch, to payload: inout [UInt8]) {
        let at = payload.count
        payload.append(contentsOf: repeatElement(0, count: nullsHeaderBytes))
        let (encoding, raw) = rows.withUnsafeBufferPointer { ColumnCodec.encode($0, kind: .codes, scratch: &scratch, payload: &payload) }
        var w = ByteWriter()
        w.u8(encoding.flags)
        w.u8(0)
        w.u16(0)
        w.u32(UInt32(raw))
        w.u32(UInt32(payload.count - at - nullsHeaderBytes))
        w.u32(UInt32(rows.count))
        w.i64(encoding.divisor)
        payload.replaceSubrange(at..<at + nullsHeaderBytes, with: w.bytes)
        while payload.count % BlockFormat.alignment != 0 { payload.append(0) }
    }

    /// The distinct strings of a text column's non-null rows in byte order, and in `codes` each such
    /// row's index among them.
    static func dictionary(_ column: ColumnBuffer, codes: inout [Int64]) -> [String] {
        var index: [ByteString: Int64] = [:]
        var firstSeen: [String] = []
        var previous: (String, Int64)? = nil
        for r in 0..<column.count where !column.isNull(r) {
            let s = column.strings[r]
            if let (p, code) = previous, sameBytes(p, s) {  // runs of one value: no hashing
                codes.append(code)
                continue
            }
            let code: Int64
            if let known = index[ByteString(s)] {
                code = known
            } else {
                code = Int64(firstSeen.count)
                index[ByteString(s)] = code
                firstSeen.append(s)
            }
            codes.append(code)
            previous = (s, code)
        }
        let order = firstSeen.indices.sorted { utf8Less(firstSeen[$0], firstSeen[$1]) }
        var rank = [Int64](repeating: 0, count: order.count)
        for (k, i) in order.enumerated() { rank[i] = Int64(k) }
        for k in codes.indices { codes[k] = rank[Int(codes[k])] }
        return order.map { firstSeen[$0] }
    }

    /// Appends the dictionary part: header, then (LZ4 when it is smaller) the end offsets and the bytes.
    static func appendDictionary(_ strings: [String], scratch: inout EncoderScratch, to payload: inout [UInt8]) {
        var raw = ByteWriter()
        var end: UInt32 = 0
        for s in strings {
            end += UInt32(s.utf8.count)
            raw.u32(end)
        }
        for s in strings { raw.bytes.append(contentsOf: s.utf8) }
        var stored = raw.bytes
        var flags: UInt32 = 0
        let bound = LZ4.compressBound(raw.bytes.count)
        if scratch.compressed.count < bound { scratch.compressed = [UInt8](repeating: 0, count: bound) }
        let size = raw.bytes.withUnsafeBytes { src in scratch.compressed.withUnsafeMutableBytes { LZ4.compress(src, into: $0) } }
        if size > 0 && size < raw.bytes.count {
            stored = Array(scratch.compressed[0..<size])
            flags = UInt32(Encoding.lz4)
        }
        var w = ByteWriter()
        w.u32(UInt32(strings.count))
        w.u32(UInt32(raw.bytes.count))
        w.u32(UInt32(stored.count))
        w.u32(flags)
        payload.append(contentsOf: w.bytes)
        payload.append(contentsOf: stored)
        while payload.count % BlockFormat.alignment != 0 { payload.append(0) }
    }

    // MARK: Reading

    /// Finds the parts of `chunk` (its stored bytes, checksum checked) for a column of `type` with
    /// `nullCount` nulls in `rows` rows. Throws on any inconsistency; never reads outside `chunk`.
    static func locate(
        _ chunk: UnsafeRawBufferPointer, type: ColumnType, nullCount: Int, rows: Int, what: () -> String
    ) throws(StrataError) -> Located {
        var at = 0
        func u32(_ o: Int) -> Int { Int(UInt32(littleEndian: chunk.loadUnaligned(fromByteOffset: at + o, as: UInt32.self))) }
        func part(_ header: Int, _ length: Int, _ name: String) throws(StrataError) -> UnsafeRawBufferPointer {
            if at + header > chunk.count || length > chunk.count - at - header {
                throw .damaged("\(what()): the \(name) part runs past its chunk")
            }
            let bytes = UnsafeRawBufferPointer(rebasing: chunk[at + header..<at + header + length])
            at = (at + header + length + BlockFormat.alignment - 1) / BlockFormat.alignment * BlockFormat.alignment
            return bytes
        }
        var located = Located(values: UnsafeRawBufferPointer(rebasing: chunk[0..<0]))
        if nullCount > 0 {
            guard chunk.count >= nullsHeaderBytes else { throw .damaged("\(what()): the null part runs past its chunk") }
            let flags = chunk[0]
            let divisor = Int64(littleEndian: chunk.loadUnaligned(fromByteOffset: 16, as: Int64.self))
            if u32(12) != nullCount || chunk[1] != 0 { throw .damaged("\(what()): the null part does not hold \(nullCount) rows") }
            located.nullsEncoding = Encoding(flags: flags, scale: 0, divisor: divisor)
            located.nullsRawLength = u32(4)
            located.nulls = try part(nullsHeaderBytes, u32(8), "null")
        }
        if type == .string {
            guard at + dictionaryHeaderBytes <= chunk.count else { throw .damaged("\(what()): the dictionary part runs past its chunk") }
            located.dictionaryCount = u32(0)
            located.dictionaryRawLength = u32(4)
            let flags = u32(12)
            if flags & ~Int(Encoding.lz4) != 0 || located.dictionaryCount < 1 || located.dictionaryCount > rows - nullCount
                || located.dictionaryRawLength < 4 * located.dictionaryCount
                || located.dictionaryRawLength > 4 * rows + Limits.textBytesMax * rows
            {
                throw .damaged("\(what()): the dictionary part's header is impossible")
            }
            located.dictionaryCompressed = flags != 0
            located.dictionary = try part(dictionaryHeaderBytes, u32(8), "dictionary")
        }
        located.values = UnsafeRawBufferPointer(rebasing: chunk[min(at, chunk.count)...])
        return located
    }

    /// Decodes the null part into `nulls` (true at each null row of `rows`).
    static func decodeNulls(
        _ located: Located, count: Int, rows: Int, into nulls: inout [Bool], scratch: inout [UInt8], numbers: inout [Int64],
        what: () -> String
    ) throws(StrataError) {
        guard let bytes = located.nulls else { return }
        if numbers.count < count { numbers = [Int64](repeating: 0, count: count) }
        try numbers.withUnsafeMutableBufferPointer { (p) throws(StrataError) in
            try ColumnCodec.decode(bytes, encoding: located.nullsEncoding, rawLength: located.nullsRawLength, rows: count, into: p, scratch: &scratch, what: what)
        }
        nulls.removeAll(keepingCapacity: true)
        nulls.append(contentsOf: repeatElement(false, count: rows))
        var previous: Int64 = -1
        for k in 0..<count {
            let r = numbers[k]
            if r <= previous || r >= Int64(rows) { throw .damaged("\(what()): null row numbers are not ascending row numbers") }
            nulls[Int(r)] = true
            previous = r
        }
    }

    /// Decodes the dictionary part: strings in strictly ascending byte order, valid UTF-8.
    static func decodeDictionary(_ located: Located, scratch: inout [UInt8], what: () -> String) throws(StrataError) -> [String] {
        guard let stored = located.dictionary else { return [] }
        let n = located.dictionaryRawLength
        if located.dictionaryCompressed {
            if scratch.count < n { scratch = [UInt8](repeating: 0, count: n) }
            let ok = scratch.withUnsafeMutableBytes { LZ4.decompress(stored, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<n])) }
            if !ok { throw .damaged("\(what()): the dictionary does not decompress to \(n) bytes") }
            return try scratch.withBytes { (raw) throws(StrataError) in
                try strings(UnsafeRawBufferPointer(rebasing: raw[0..<n]), count: located.dictionaryCount, what: what)
            }
        }
        if stored.count != n { throw .damaged("\(what()): the dictionary's stored length is not its raw length") }
        return try strings(stored, count: located.dictionaryCount, what: what)
    }

    private static func strings(_ raw: UnsafeRawBufferPointer, count: Int, what: () -> String) throws(StrataError) -> [String] {
        let base = 4 * count
        var out: [String] = []
        out.reserveCapacity(count)
        var start = 0
        for k in 0..<count {
            let end = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)))
            guard end >= start, base + end <= raw.count else { throw .damaged("\(what()): dictionary offsets are out of order") }
            let bytes = UnsafeRawBufferPointer(rebasing: raw[base + start..<base + end])
            guard let s = validUTF8(bytes) else { throw .damaged("\(what()): dictionary entry \(k) is not UTF-8") }
            if let last = out.last, !utf8Less(last, s) { throw .damaged("\(what()): dictionary entries are not in ascending byte order") }
            out.append(s)
            start = end
        }
        if base + start != raw.count { throw .damaged("\(what()): the dictionary has bytes past its last entry") }
        return out
    }
}
