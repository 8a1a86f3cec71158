/// The block: the unit of storage. One symbol's rows over a time range, every column encoded
/// separately, with a header that carries checksums and per-column statistics.
/// Byte layout in Format.md, "Blocks".
enum BlockFormat {
    static let magic: UInt32 = 0x314B_4253  // "SBK1"
    static let fixedHeaderBytes = 56
    static let descriptorBytes = 80
    static let headerHashOffset = 48
    static let alignment = 8
}

/// The description of one column chunk, as stored in the block header. Column 0 is the timestamp.
struct ChunkDescriptor: Equatable, Sendable {
    var type: ColumnType
    var encoding: Encoding
    var rawLength: UInt32
    var storedLength: UInt32
    var offset: UInt32
    var hash: UInt64
    var stats: ColumnStats
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
    /// The bytes of the mapping (or copy) the block lies in, and the offset of its first byte there.
    private let bytes: UnsafeRawBufferPointer
    let offset: Int

    var totalBytes: Int { headerBytes + payloadBytes }

    @inline(__always)
    private func descriptorField<T: FixedWidthInteger>(_ c: Int, _ at: Int, as: T.Type) -> T {
        Self.load(bytes, offset + BlockFormat.fixedHeaderBytes + c * BlockFormat.descriptorBytes + at, as: T.self)
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

    /// The descriptor of column chunk `c` (0 is the time column); `parse` checked every one.
    func chunk(_ c: Int) -> ChunkDescriptor {
        ChunkDescriptor(
            type: ColumnType(rawValue: typeByte(c))!,
            encoding: Encoding(flags: descriptorField(c, 0, as: UInt8.self), scale: descriptorField(c, 1, as: UInt8.self),
                               divisor: descriptorField(c, 16, as: Int64.self)),
            rawLength: descriptorField(c, 4, as: UInt32.self), storedLength: descriptorField(c, 8, as: UInt32.self),
            offset: descriptorField(c, 12, as: UInt32.self), hash: descriptorField(c, 24, as: UInt64.self), stats: stats(c))
    }

    var chunks: [ChunkDescriptor] { (0..<columnCount).map(chunk) }
}

/// Builds blocks. Holds scratch buffers, so one encoder is reused for many blocks.
struct BlockEncoder {
    private var scratch = EncoderScratch()
    private var payload: [UInt8] = []

    /// Encodes rows [0, count) of `times` and `columns` (Float64 columns as bit patterns).
    mutating func encode(
        tableID: UInt32, symbolID: UInt32, times: [Int64], columns: [[Int64]], types: [ColumnType]
    ) -> [UInt8] {
        let rows = times.count
        precondition(rows > 0 && rows <= Limits.blockRowsMax)
        precondition(columns.count == types.count && columns.allSatisfy { $0.count == rows })
        payload.removeAll(keepingCapacity: true)
        var descriptors: [ChunkDescriptor] = []
        descriptors.reserveCapacity(columns.count + 1)
        for c in -1..<columns.count {
            let values = c < 0 ? times : columns[c]
            let type = c < 0 ? ColumnType.int64 : types[c]
            while payload.count % BlockFormat.alignment != 0 { payload.append(0) }
            let start = payload.count
            let (stats, encoding, raw) = values.withUnsafeBufferPointer { v in
                let stats = ColumnStats.compute(v, type: type)
                let (encoding, raw) = ColumnCodec.encode(v, type: type, isTime: c < 0, scratch: &scratch, payload: &payload)
                return (stats, encoding, raw)
            }
            let hash = payload.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[start...])) }
            descriptors.append(ChunkDescriptor(
                type: type, encoding: encoding, rawLength: UInt32(raw), storedLength: UInt32(payload.count - start),
                offset: UInt32(start), hash: hash, stats: stats))
        }
        while payload.count % BlockFormat.alignment != 0 { payload.append(0) }
        let headerBytes = BlockFormat.fixedHeaderBytes + descriptors.count * BlockFormat.descriptorBytes
        var w = ByteWriter(capacity: headerBytes + payload.count)
        w.u32(BlockFormat.magic)
        w.u32(UInt32(headerBytes))
        w.u32(UInt32(payload.count))
        w.u32(UInt32(rows))
        w.u32(tableID)
        w.u32(symbolID)
        w.u16(UInt16(descriptors.count))
        w.u16(0)
        w.u32(0)
        w.i64(times[0])
        w.i64(times[rows - 1])
        w.u64(0)  // header hash, patched below
        for d in descriptors {
            w.u8(d.encoding.flags)
            w.u8(d.encoding.scale)
            w.u8(d.type.rawValue)
            w.u8(0)
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
        }
        assert(w.bytes.count == headerBytes)
        let hash = XXH64.hash(w.bytes)
        w.patch(u64: hash, at: BlockFormat.headerHashOffset)
        w.bytes.append(contentsOf: payload)
        return w.bytes
    }
}

extension BlockHeader {
    /// Parses and checks the header of the block at `offset` in the first `end` bytes of `region`.
    /// Checks the magic, the lengths against `end`, the header checksum and every column descriptor;
    /// does not touch the payload. Error messages say what is wrong; the caller puts where (file,
    /// table, symbol, block) in front.
    static func parse(_ region: MappedRegion, at offset: Int, end: Int? = nil) throws(StrataError) -> BlockHeader {
        try region.withBytes { (bytes) throws(StrataError) in try parse(bytes, at: offset, end: end) }
    }

    /// The little-endian integer at `at` of `bytes`. Every offset read lies inside them: `parse`
    /// checks the fixed header fits before reading it, and the descriptors' extent before reading
    /// them; a parsed header reads only its descriptors (checked in debug builds).
    @inline(__always)
    private static func load<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ at: Int, as: T.Type) -> T {
        assert(at >= 0 && at + MemoryLayout<T>.size <= bytes.count, "block header read outside its region")
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self))
    }

    private static func parse(_ region: UnsafeRawBufferPointer, at offset: Int, end: Int?) throws(StrataError) -> BlockHeader {
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
        if magic != BlockFormat.magic {
            throw .damaged("bad block magic 0x\(String(magic, radix: 16)) at file offset \(offset)")
        }
        let headerBytes = Int(u32(4))
        let payloadBytes = Int(u32(8))
        let rows = Int(u32(12))
        let columnCount = Int(load(region, offset + 24, as: UInt16.self))
        let storedHash = UInt64(bitPattern: i64(BlockFormat.headerHashOffset))
        if headerBytes != BlockFormat.fixedHeaderBytes + columnCount * BlockFormat.descriptorBytes {
            throw .damaged("header length \(headerBytes) does not match \(columnCount) columns")
        }
        if headerBytes + payloadBytes > available {
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
            headerBytes: headerBytes, payloadBytes: payloadBytes, columnCount: columnCount, bytes: region, offset: offset)
        if columnCount < 1 { throw .damaged("block has no time column") }
        let rawMax = Encoding.rawLengthMax(rows: rows)
        for c in 0..<columnCount {
            let typeRaw = h.typeByte(c)
            if ColumnType(rawValue: typeRaw) == nil {
                throw .damaged("column \(c) has unknown type \(typeRaw)")
            }
            let stored = Int(h.descriptorField(c, 8, as: UInt32.self))
            let chunkOffset = Int(h.descriptorField(c, 12, as: UInt32.self))
            if chunkOffset + stored > payloadBytes || Int(h.descriptorField(c, 4, as: UInt32.self)) > rawMax {
                throw .damaged("column \(c) chunk lies outside the block payload")
            }
        }
        if h.typeByte(0) != ColumnType.int64.rawValue { throw .damaged("time column is not int64") }
        return h
    }

    /// Lends the stored bytes of chunk `c` to `body`, after checking them against their checksum.
    @inline(__always)
    func withChunkBytes<R>(
        _ c: Int, checkChecksum: Bool, what: () -> String, _ body: (UnsafeRawBufferPointer) throws(StrataError) -> R
    ) throws(StrataError) -> R {
        let d = chunk(c)
        let start = offset + headerBytes + Int(d.offset)
        let chunk = UnsafeRawBufferPointer(rebasing: bytes[start..<start + Int(d.storedLength)])
        if checkChecksum && XXH64.hash(chunk) != d.hash {
            throw .damaged("\(what()): checksum mismatch in column \(c)")
        }
        return try body(chunk)
    }
}
