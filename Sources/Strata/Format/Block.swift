/// The block: the unit of storage. One symbol's rows over a time range, every column encoded
/// separately, with a header that carries checksums and per-column statistics.
/// Byte layout in Format.md, "Blocks". Version 2 blocks ("SBK2") name each column chunk by the
/// column's id and count its nulls; version 1 blocks ("SBK1", written before format 3) hold every
/// column of the table as it was created, in order, without nulls.
enum BlockFormat {
    static let magicV1: UInt32 = 0x314B_4253  // "SBK1"
    static let magic: UInt32 = 0x324B_4253  // "SBK2"
    static let fixedHeaderBytes = 56
    static let descriptorBytesV1 = 80
    static let descriptorBytes = 88
    static let headerHashOffset = 48
    static let alignment = 8
    /// The column id field of the time column's descriptor.
    static let timeColumnID = UInt32.max
}

/// The description of one column chunk, as stored in the block header. Column 0 is the timestamp.
struct ChunkDescriptor: Equatable, Sendable {
    var type: ColumnType
    /// The encoding of the chunk's values part.
    var encoding: Encoding
    var rawLength: UInt32
    var storedLength: UInt32
    var offset: UInt32
    var hash: UInt64
    var stats: ColumnStats
    var columnID: UInt32
    var nullCount: UInt32
}

/// The parsed, checked header of one block. It reads the column descriptors in place from the
/// bytes of the region it was parsed from: parsing one allocates nothing and counts no reference.
///
/// It is valid only while that region lives: headers are made and used inside one read of a
/// snapshot (which holds its regions) or of a transaction's block (which holds the copy). A counted
/// reference to the region instead cost a contended atomic per block when several threads scan one
/// file (a third of a statistics-only query). The bytes are read only here, bounds-checked.
struct BlockHeader: @unchecked Sendable {
    var rows: Int
    var tableID: UInt32
    var symbolID: UInt32
    var firstTime: Int64
    var lastTime: Int64
    var headerBytes: Int
    var payloadBytes: Int
    var columnCount: Int
    /// 1 for "SBK1" blocks, 2 for "SBK2".
    let version: Int
    /// The bytes of the mapping (or copy) the block lies in, and the offset of its first byte there.
    private let bytes: UnsafeRawBufferPointer
    let offset: Int
    /// Nil when `bytes` hold the whole block (a mapping). For a header parsed from a copy
    /// (`parse(…, payload: false)`), the chunks copied after it at their places (bit c for chunk
    /// c; none for a copy of the header alone): `withChunkBytes` traps on any other rather than
    /// read what the copy lacks.
    private(set) var copiedChunks: UInt64?

    var totalBytes: Int { headerBytes + payloadBytes }

    /// The chunks copied after this header of a copy (`copiedChunks`; every one for a mapping).
    var copiedChunksMask: UInt64 { copiedChunks ?? ~0 }

    /// This header of a copy, with the chunks of `mask` copied after it at their places.
    func copying(chunks mask: UInt64) -> BlockHeader {
        precondition(copiedChunks != nil, "a mapped block has every chunk")
        var h = self
        h.copiedChunks = mask
        return h
    }

    @inline(__always)
    private func descriptorField<T: FixedWidthInteger>(_ c: Int, _ at: Int, as: T.Type) -> T {
        let size = version == 1 ? BlockFormat.descriptorBytesV1 : BlockFormat.descriptorBytes
        return Self.load(bytes, offset + BlockFormat.fixedHeaderBytes + c * size + at, as: T.self)
    }

    /// The statistics of column chunk `c` (0 is the time column), read in place.
    @inline(__always)
    func stats(_ c: Int) -> ColumnStats {
        var s = ColumnStats()
        s.min = descriptorField(c, 32, as: Int64.self)
        s.max = descriptorField(c, 40, as: Int64.self)
        s.sum = descriptorField(c, 48, as: Int64.self)
        s.first = descriptorField(c, 56, as: Int64.self)
        s.last = descriptorField(c, 64, as: Int64.self)
        s.nanCount = descriptorField(c, 72, as: UInt32.self)
        s.flags = descriptorField(c, 76, as: UInt32.self)
        return s
    }

    /// The raw type byte of column chunk `c`.
    func typeByte(_ c: Int) -> UInt8 { descriptorField(c, 2, as: UInt8.self) }

    /// The column id chunk `c` holds (version 1: the c-th column the table was created with).
    @inline(__always)
    func columnID(_ c: Int) -> UInt32 {
        if c == 0 { return BlockFormat.timeColumnID }
        return version == 1 ? UInt32(c - 1) : descriptorField(c, 80, as: UInt32.self)
    }

    /// The nulls of chunk `c` (always 0 in version 1).
    @inline(__always)
    func nullCount(_ c: Int) -> Int { version == 1 ? 0 : Int(descriptorField(c, 84, as: UInt32.self)) }

    /// The chunk holding column `id`, nil when the block has no values for it (every row null).
    /// Chunks are in ascending id order, so this is a binary search, after a look at `hint` (the
    /// column's place in the schema plus one: its chunk in a table whose columns never changed).
    @inline(__always)
    func chunkIndex(columnID id: UInt32, hint: Int = 0) -> Int? {
        if hint > 0 && hint < columnCount && columnID(hint) == id { return hint }
        let k = partitionPoint(in: 1..<columnCount) { columnID($0) >= id }
        return k < columnCount && columnID(k) == id ? k : nil
    }

    /// The descriptor of column chunk `c` (0 is the time column); `parse` checked every one.
    func chunk(_ c: Int) -> ChunkDescriptor {
        ChunkDescriptor(
            type: ColumnType(rawValue: typeByte(c))!,
            encoding: Encoding(flags: descriptorField(c, 0, as: UInt8.self), scale: descriptorField(c, 1, as: UInt8.self),
                               divisor: descriptorField(c, 16, as: Int64.self), runs: descriptorField(c, 3, as: UInt8.self) == 1,
                               segmented: descriptorField(c, 3, as: UInt8.self) == 2),
            rawLength: descriptorField(c, 4, as: UInt32.self), storedLength: descriptorField(c, 8, as: UInt32.self),
            offset: descriptorField(c, 12, as: UInt32.self), hash: descriptorField(c, 24, as: UInt64.self), stats: stats(c),
            columnID: columnID(c), nullCount: UInt32(nullCount(c)))
    }

    var chunks: [ChunkDescriptor] { (0..<columnCount).map(chunk) }
}

/// Builds blocks. Holds scratch buffers, so one encoder is reused for many blocks.
struct BlockEncoder {
    private var scratch = EncoderScratch()
    private var payload: [UInt8] = []
    private var present: [Int64] = []
    /// This block's columns so far that a prediction can use: decimal columns without nulls (their
    /// scaled integers) and int64 columns without nulls (indices into `columns`).
    private var decimals: [(id: UInt32, scale: Int, ints: [UInt64])] = []
    private var counts: [(id: UInt32, column: Int)] = []
    private var target: [UInt64] = []
    private var trial: [UInt8] = []
    /// A candidate prediction's residuals over a block's first rows, to cost it.
    private var trialResiduals: [UInt64] = []

    /// Encodes rows [0, count) of `times` and the value columns `columns`, with ids `ids` (ascending)
    /// and types `types`. A column whose every row is null gets no chunk.
    mutating func encode(
        tableID: UInt32, symbolID: UInt32, times: [Int64], columns: [ColumnBuffer], ids: [UInt32], types: [ColumnType]
    ) -> [UInt8] {
        let rows = times.count
        precondition(rows > 0 && rows <= Limits.blockRowsMax)
        precondition(columns.count == types.count && ids.count == types.count && columns.allSatisfy { $0.count == rows })
        payload.removeAll(keepingCapacity: true)
        var descriptors: [ChunkDescriptor] = []
        descriptors.reserveCapacity(columns.count + 1)
        descriptors.append(encodeTimes(times))
        decimals.removeAll(keepingCapacity: true)
        counts.removeAll(keepingCapacity: true)
        for c in columns.indices {
            if let d = encodeColumn(columns, c, id: ids[c], type: types[c], rows: rows) { descriptors.append(d) }
        }
        pad()
        return assemble(descriptors, tableID: tableID, symbolID: symbolID, times: times)
    }

    private mutating func pad() {
        while payload.count % BlockFormat.alignment != 0 { payload.append(0) }
    }

    private mutating func encodeTimes(_ times: [Int64]) -> ChunkDescriptor {
        let (stats, encoding, raw) = times.withUnsafeBufferPointer { v in
            let (encoding, raw) = ColumnCodec.encode(v, kind: .time, scratch: &scratch, payload: &payload)
            return (ColumnStats.compute(v, type: .int64), encoding, raw)
        }
        return ChunkDescriptor(
            type: .int64, encoding: encoding, rawLength: UInt32(raw), storedLength: UInt32(payload.count),
            offset: 0, hash: payload.withUnsafeBytes { XXH64.hash($0) }, stats: stats, columnID: BlockFormat.timeColumnID, nullCount: 0)
    }

    /// One value column's chunk: its null rows' numbers, its dictionary (text), then its values
    /// (the non-null ones; a text column's codes into the dictionary). Nil when every row is null.
    private mutating func encodeColumn(_ columns: [ColumnBuffer], _ c: Int, id: UInt32, type: ColumnType, rows: Int) -> ChunkDescriptor? {
        let column = columns[c]
        pad()
        let start = payload.count
        var nullRows: [Int64] = []
        if column.hasNulls {
            for r in 0..<rows where column.nulls[r] { nullRows.append(Int64(r)) }
            if nullRows.count == rows { return nil }
        }
        if !nullRows.isEmpty { ChunkParts.appendNulls(nullRows, scratch: &scratch, to: &payload) }
        present.removeAll(keepingCapacity: true)
        if type == .string {
            let dictionary = ChunkParts.dictionary(column, codes: &present)
            ChunkParts.appendDictionary(dictionary, scratch: &scratch, to: &payload)
        } else if nullRows.isEmpty {
            present.append(contentsOf: column.bits)
        } else {
            for r in 0..<rows where !column.nulls[r] { present.append(column.bits[r]) }
        }
        pad()
        let valuesStart = payload.count
        var (stats, encoding, raw) = present.withUnsafeBufferPointer { v in
            let (encoding, raw) = ColumnCodec.encode(v, kind: ColumnCodec.Kind(type), scratch: &scratch, payload: &payload)
            return (ColumnStats.compute(v, type: type), encoding, raw)
        }
        if nullRows.isEmpty && type == .int64 { counts.append((id, c)) }
        if nullRows.isEmpty && type == .float64 && encoding.has(Encoding.decimal) {
            if let (e, r) = predict(columns, scale: Int(encoding.scale), replacing: valuesStart) {
                (encoding, raw) = (e, r)
            } else {
                decimals.append((id, Int(encoding.scale), scratch.ints))
            }
        }
        // A chunk in segments: its checksum leaves out the miniblocks (the segments' own cover them).
        let end = encoding.segmented ? payload.count - raw : payload.count
        let hash = payload.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
        return ChunkDescriptor(
            type: type, encoding: encoding, rawLength: UInt32(raw), storedLength: UInt32(payload.count - start),
            offset: UInt32(start), hash: hash, stats: stats, columnID: id, nullCount: UInt32(nullRows.count))
    }

    /// Tries to store the decimal column just encoded (its scaled integers in `scratch.ints`, its
    /// chunk from `start` on) as residuals from a prediction of earlier columns: when its chunk
    /// takes over 1.5 bytes a value, each count column and each pair of decimal columns is tried
    /// on the first 1,024 rows (bits a value, bit-packed), and the best one kept when its residuals
    /// take less room than the chunk. Returns the new encoding, or nil (the chunk stays).
    private mutating func predict(_ columns: [ColumnBuffer], scale k: Int, replacing start: Int) -> (Encoding, Int)? {
        let rows = scratch.ints.count
        guard payload.count - start > rows * 3 / 2, !counts.isEmpty, !decimals.isEmpty else { return nil }
        target = scratch.ints
        var best: (Prediction, cost: Int)? = nil
        for v in counts {
            for i in decimals.indices {
                for j in i..<decimals.count {
                    let cost = Self.residualBits(
                        target, columns[v.column].bits, decimals[i], decimals[j], k: k, rows: min(rows, 1_024), scratch: &trialResiduals)
                    if best == nil || cost < best!.cost { best = (Prediction(count: v.id, first: decimals[i].id, second: decimals[j].id), cost) }
                }
            }
        }
        guard let (p, _) = best else { return nil }
        let v = columns[counts.first { $0.id == p.count }!.column].bits
        let a = decimals.first { $0.id == p.first }!, b = decimals.first { $0.id == p.second }!
        let (f1, f2) = Prediction.factors(target: k, a.scale, b.scale)
        Prediction.residuals(target, v, a.ints, b.ints, f1, f2, rows: rows, into: &scratch.ints)
        trial.removeAll(keepingCapacity: true)
        p.write(to: &trial)
        let (encoding, raw) = ColumnCodec.encodePredicted(scale: k, scratch: &scratch, payload: &trial)
        guard trial.count < payload.count - start else { return nil }
        payload.replaceSubrange(start..., with: trial)
        return (encoding, raw)
    }

    /// Bits the residuals of the first `rows` rows take bit-packed (zigzag, per 128 values).
    private static func residualBits(
        _ target: [UInt64], _ v: [Int64], _ a: (id: UInt32, scale: Int, ints: [UInt64]), _ b: (id: UInt32, scale: Int, ints: [UInt64]), k: Int, rows: Int,
        scratch residuals: inout [UInt64]
    ) -> Int {
        let (f1, f2) = Prediction.factors(target: k, a.scale, b.scale)
        Prediction.residuals(target, v, a.ints, b.ints, f1, f2, rows: rows, into: &residuals)
        var bits = 0
        var r = 0
        while r < rows {
            var any: UInt64 = 0
            for i in r..<min(r + Encoding.miniblockValues, rows) {
                let e = Int64(bitPattern: residuals[i])
                any |= UInt64(bitPattern: (e << 1) ^ (e >> 63))
            }
            bits += (64 - any.leadingZeroBitCount) * min(Encoding.miniblockValues, rows - r)
            r += Encoding.miniblockValues
        }
        return bits
    }

    private func assemble(_ descriptors: [ChunkDescriptor], tableID: UInt32, symbolID: UInt32, times: [Int64]) -> [UInt8] {
        let headerBytes = BlockFormat.fixedHeaderBytes + descriptors.count * BlockFormat.descriptorBytes
        var w = ByteWriter(capacity: headerBytes + payload.count)
        w.u32(BlockFormat.magic)
        w.u32(UInt32(headerBytes))
        w.u32(UInt32(payload.count))
        w.u32(UInt32(times.count))
        w.u32(tableID)
        w.u32(symbolID)
        w.u16(UInt16(descriptors.count))
        w.u16(0)
        w.u32(0)
        w.i64(times[0])
        w.i64(times[times.count - 1])
        w.u64(0)  // header hash, patched below
        for d in descriptors {
            w.u8(d.encoding.flags)
            w.u8(d.encoding.scale)
            w.u8(d.type.rawValue)
            w.u8(d.encoding.runs ? 1 : d.encoding.segmented ? 2 : 0)
            w.u32(d.rawLength)
            w.u32(d.storedLength)
            w.u32(d.offset)
            w.i64(d.encoding.divisor)
            w.u64(d.hash)
            w.i64(d.stats.min)
            w.i64(d.stats.max)
            w.i64(d.stats.sum)
            w.i64(d.stats.first)
            w.i64(d.stats.last)
            w.u32(d.stats.nanCount)
            w.u32(d.stats.flags)
            w.u32(d.columnID)
            w.u32(d.nullCount)
        }
        assert(w.bytes.count == headerBytes)
        let hash = XXH64.hash(w.bytes)
        w.patch(u64: hash, at: BlockFormat.headerHashOffset)
        w.bytes.append(contentsOf: payload)
        return w.bytes
    }
}

extension BlockHeader {
    /// Writes the header checksum a block at the start of `bytes` should carry (the fuzz target's
    /// way past the checksum, to reach the checks behind it). Nothing when the header is too short.
    package static func sealChecksum(_ bytes: inout [UInt8]) {
        guard bytes.count >= BlockFormat.fixedHeaderBytes else { return }
        let headerBytes = bytes.withUnsafeBytes { statedHeaderBytes($0) }
        guard headerBytes >= BlockFormat.headerHashOffset + 8, headerBytes <= bytes.count else { return }
        let hash = bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<headerBytes]), zeroingWordAt: BlockFormat.headerHashOffset) }
        for k in 0..<8 { bytes[BlockFormat.headerHashOffset + k] = UInt8(truncatingIfNeeded: hash >> (8 * UInt64(k))) }
    }

    /// The header length the first bytes of a block state (0 when there are fewer than 8).
    static func statedHeaderBytes(_ bytes: UnsafeRawBufferPointer) -> Int {
        bytes.count >= 8 ? Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))) : 0
    }

    /// Parses and checks the header of the block at `offset` in the first `end` bytes of `region`.
    /// Checks the magic, the lengths against `end`, the header checksum and every column descriptor;
    /// does not touch the payload. Error messages say what is wrong; the caller puts where (file,
    /// table, symbol, block) in front.
    static func parse(_ region: MappedRegion, at offset: Int, end: Int? = nil, schema: Schema? = nil) throws(StrataError) -> BlockHeader {
        try region.withBytes { (bytes) throws(StrataError) in try parse(bytes, at: offset, end: end, schema: schema) }
    }

    /// The little-endian integer at `at` of `bytes`. Every offset read lies inside them: `parse`
    /// checks the fixed header fits before reading it, and the descriptors' extent before reading
    /// them; a parsed header reads only its descriptors (checked in debug builds).
    @inline(__always)
    private static func load<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ at: Int, as: T.Type) -> T {
        assert(at >= 0 && at + MemoryLayout<T>.size <= bytes.count, "block header read outside its region")
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self))
    }

    /// `parse` of bytes lent by a region (or a snapshot's `mapped`), which must outlive the header.
    /// With `payload` false, `region` holds the header alone (the block's length is checked by the
    /// caller), and the header is good for its statistics and descriptors, not for its chunks.
    static func parse(
        _ region: UnsafeRawBufferPointer, at offset: Int, end: Int?, schema: Schema?, payload: Bool = true
    ) throws(StrataError) -> BlockHeader {
        let end = min(end ?? region.count, region.count)
        guard offset >= 0, offset <= end else {
            throw .damaged("block offset \(offset) is past the end of the file (\(end) bytes)")
        }
        let available = end - offset
        if available < BlockFormat.fixedHeaderBytes {
            throw .damaged("truncated block header at offset \(offset) (\(available) bytes left)")
        }
        func u32(_ at: Int) -> UInt32 { load(region, offset + at, as: UInt32.self) }
        func i64(_ at: Int) -> Int64 { load(region, offset + at, as: Int64.self) }
        let magic = u32(0)
        let version = magic == BlockFormat.magic ? 2 : magic == BlockFormat.magicV1 ? 1 : 0
        if version == 0 {
            throw .damaged("bad block magic 0x\(String(magic, radix: 16)) at file offset \(offset)")
        }
        let descriptorBytes = version == 1 ? BlockFormat.descriptorBytesV1 : BlockFormat.descriptorBytes
        let headerBytes = Int(u32(4))
        let payloadBytes = Int(u32(8))
        let rows = Int(u32(12))
        let columnCount = Int(load(region, offset + 24, as: UInt16.self))
        let storedHash = UInt64(bitPattern: i64(BlockFormat.headerHashOffset))
        if headerBytes != BlockFormat.fixedHeaderBytes + columnCount * descriptorBytes {
            throw .damaged("header length \(headerBytes) does not match \(columnCount) columns")
        }
        if headerBytes + (payload ? payloadBytes : 0) > available {
            throw .damaged(
                "block of \(headerBytes + payloadBytes) bytes at offset \(offset) runs past the end of the file")
        }
        let computed = XXH64.hash(UnsafeRawBufferPointer(rebasing: region[offset..<offset + headerBytes]), zeroingWordAt: BlockFormat.headerHashOffset)
        if computed != storedHash {
            throw .damaged("block header checksum mismatch at offset \(offset)")
        }
        if rows < 1 || rows > Limits.blockRowsMax {
            throw .damaged("block claims \(rows) rows (1...\(Limits.blockRowsMax) allowed)")
        }
        let h = BlockHeader(
            rows: rows, tableID: u32(16), symbolID: u32(20), firstTime: i64(32), lastTime: i64(40),
            headerBytes: headerBytes, payloadBytes: payloadBytes, columnCount: columnCount, version: version, bytes: region, offset: offset,
            copiedChunks: payload ? nil : 0)
        if columnCount < 1 { throw .damaged("block has no time column") }
        try h.checkDescriptors(schema)
        return h
    }

    /// Checks every descriptor: known types, chunks inside the payload, raw lengths possible for the
    /// rows, null counts below the rows, column ids ascending (the time column's first). With a
    /// schema, also that every chunk holds a column of it with its type, or a dropped column (an id
    /// below the next one): both lists ascend by id, so the same walk checks it.
    private func checkDescriptors(_ schema: Schema?) throws(StrataError) {
        let rawMax = Encoding.rawLengthMax(rows: rows)
        let size = version == 1 ? BlockFormat.descriptorBytesV1 : BlockFormat.descriptorBytes
        let base = offset + BlockFormat.fixedHeaderBytes
        var previousID: UInt32 = 0
        // The schema's columns are read where they are, not copied out (`?? []` retained the
        // array every table's scan threads share, a contended count for every block read).
        let schemaColumns = schema?.columns.count ?? 0
        var k = 0  // the schema column the walk is at
        for c in 0..<columnCount {
            // Read in place, without the per-field version tests of the accessors: this runs for every
            // block a query touches.
            let at = base &+ c &* size
            let typeRaw = Self.load(bytes, at &+ 2, as: UInt8.self)
            if ColumnType(rawValue: typeRaw) == nil {
                throw .damaged("column \(c) has unknown type \(typeRaw)")
            }
            let stored = Int(Self.load(bytes, at &+ 8, as: UInt32.self))
            let chunkOffset = Int(Self.load(bytes, at &+ 12, as: UInt32.self))
            if chunkOffset &+ stored > payloadBytes || Int(Self.load(bytes, at &+ 4, as: UInt32.self)) > rawMax {
                throw .damaged("column \(c) chunk lies outside the block payload")
            }
            // Byte 3: the layout, 1 (runs) only for a version 2 block's time column, 2 (segments)
            // only for its bit-packed int64 and float64 value chunks without LZ4.
            let layout = Self.load(bytes, at &+ 3, as: UInt8.self)
            if layout == 2 {
                let flags = Self.load(bytes, at &+ 0, as: UInt8.self)
                if c == 0 || version == 1 || typeRaw == ColumnType.string.rawValue || flags & Encoding.bitpack == 0
                    || flags & (Encoding.lz4 | Encoding.shuffle) != 0
                {
                    throw .damaged("column \(c) has segments where none can be")
                }
            } else if layout > (c == 0 && version != 1 ? 1 : 0) {
                throw .damaged("column \(c) has unknown layout \(layout)")
            }
            if c == 0 { continue }
            var id = UInt32(truncatingIfNeeded: c &- 1)
            if version != 1 {
                let nulls = Int(Self.load(bytes, at &+ 84, as: UInt32.self))
                if nulls >= rows { throw .damaged("column \(c) claims \(nulls) nulls in \(rows) rows") }
                id = Self.load(bytes, at &+ 80, as: UInt32.self)
                if (c > 1 && id <= previousID) || id == BlockFormat.timeColumnID {
                    throw .damaged("column \(c) has id \(id), not above the column before it")
                }
                previousID = id
            } else if typeRaw == ColumnType.string.rawValue {
                throw .damaged("a version 1 block has a text column")
            }
            if let schema {
                if id >= schema.nextColumnID { throw .damaged("block has a column (id \(id)) the table never had") }
                while k < schemaColumns && schema.columns[k].id < id { k &+= 1 }
                if k < schemaColumns && schema.columns[k].id == id && typeRaw != schema.columns[k].type.rawValue {
                    throw .damaged("block columns do not match the table schema")
                }
            }
        }
        let timeID = version == 1 ? BlockFormat.timeColumnID : Self.load(bytes, base + 80, as: UInt32.self)
        if typeByte(0) != ColumnType.int64.rawValue || nullCount(0) != 0 || timeID != BlockFormat.timeColumnID {
            throw .damaged("the first column is not an int64 time column")
        }
    }

    /// Lends the stored bytes of chunk `c` to `body`, after checking them against their checksum:
    /// all of them, or for a chunk in segments all but its miniblocks (the decoder checks each
    /// segment it reads against the checksum in the table; `checkWholeChunk` checks them all).
    @inline(__always)
    func withChunkBytes<R>(
        _ c: Int, checkChecksum: Bool, what: () -> String, _ body: (UnsafeRawBufferPointer) throws(StrataError) -> R
    ) throws(StrataError) -> R {
        if let copied = copiedChunks {
            precondition(c < 64 && copied & (1 << UInt64(c)) != 0, "a block's chunk read from a copy that lacks it")
        }
        let d = chunk(c)
        let start = offset + headerBytes + Int(d.offset)
        let chunk = UnsafeRawBufferPointer(rebasing: bytes[start..<start + Int(d.storedLength)])
        if checkChecksum {
            var covered = chunk.count
            if d.encoding.segmented {
                if Int(d.rawLength) > chunk.count { throw .damaged("\(what()): column \(c) is shorter than its miniblocks") }
                covered -= Int(d.rawLength)
            }
            if XXH64.hash(UnsafeRawBufferPointer(rebasing: chunk[0..<covered])) != d.hash {
                throw .damaged("\(what()): checksum mismatch in column \(c)")
            }
        }
        return try body(chunk)
    }

    /// Checks every byte of chunk `c` against the checksums that cover it, without decoding it.
    func checkWholeChunk(_ c: Int, what: () -> String) throws(StrataError) {
        let d = chunk(c)
        try withChunkBytes(c, checkChecksum: true, what: what) { (bytes) throws(StrataError) in
            guard d.encoding.segmented else { return }
            let parts = try ChunkParts.locate(bytes, type: d.type, nullCount: Int(d.nullCount), rows: rows, what: what)
            try Segments.checkAll(parts.values, values: rows - Int(d.nullCount), miniblockBytes: Int(d.rawLength), what: what)
        }
    }
}
