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

/// The parsed, checked header of one block; `payload` points into the mapping it came from.
struct BlockHeader: Sendable {
    var rows: Int
    var tableID: UInt32
    var symbolID: UInt32
    var firstTime: Int64
    var lastTime: Int64
    var headerBytes: Int
    var payloadBytes: Int
    var chunks: [ChunkDescriptor]

    var totalBytes: Int { headerBytes + payloadBytes }
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
    /// Parses and checks the header of the block at `offset` in `region`. Checks the magic, the lengths
    /// against the region and the header checksum; does not touch the payload.
    static func parse(
        _ region: UnsafeRawBufferPointer, at offset: Int, what: @escaping () -> String
    ) throws(StrataError) -> BlockHeader {
        guard offset >= 0, offset <= region.count else {
            throw .damaged("\(what()): block offset \(offset) is past the end of the file (\(region.count) bytes)")
        }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: region[offset...]), what: what)
        let magic = try r.u32()
        if magic != BlockFormat.magic {
            throw .damaged("\(what()): bad block magic 0x\(String(magic, radix: 16)) at file offset \(offset)")
        }
        let headerBytes = Int(try r.u32())
        let payloadBytes = Int(try r.u32())
        let rows = Int(try r.u32())
        let tableID = try r.u32()
        let symbolID = try r.u32()
        let columnCount = Int(try r.u16())
        _ = try r.u16()
        _ = try r.u32()
        let firstTime = try r.i64()
        let lastTime = try r.i64()
        let storedHash = try r.u64()
        if headerBytes != BlockFormat.fixedHeaderBytes + columnCount * BlockFormat.descriptorBytes {
            throw .damaged("\(what()): header length \(headerBytes) does not match \(columnCount) columns")
        }
        if headerBytes + payloadBytes > region.count - offset {
            throw .damaged(
                "\(what()): block of \(headerBytes + payloadBytes) bytes at offset \(offset) runs past the end of the file")
        }
        var copy = [UInt8](UnsafeRawBufferPointer(rebasing: region[offset..<offset + headerBytes]))
        for i in 0..<8 { copy[BlockFormat.headerHashOffset + i] = 0 }
        let computed = XXH64.hash(copy)
        if computed != storedHash {
            throw .damaged("\(what()): block header checksum mismatch at offset \(offset)")
        }
        if rows < 1 || rows > Limits.blockRowsMax {
            throw .damaged("\(what()): block claims \(rows) rows (1...\(Limits.blockRowsMax) allowed)")
        }
        var chunks: [ChunkDescriptor] = []
        chunks.reserveCapacity(columnCount)
        for c in 0..<columnCount {
            let flags = try r.u8()
            let scale = try r.u8()
            let typeRaw = try r.u8()
            _ = try r.u8()
            let rawLength = try r.u32()
            let storedLength = try r.u32()
            let chunkOffset = try r.u32()
            let divisor = try r.i64()
            let hash = try r.u64()
            var stats = ColumnStats()
            stats.min = try r.i64()
            stats.max = try r.i64()
            stats.sum = try r.i64()
            stats.first = try r.i64()
            stats.last = try r.i64()
            stats.nanCount = try r.u32()
            stats.flags = try r.u32()
            guard let type = ColumnType(rawValue: typeRaw) else {
                throw .damaged("\(what()): column \(c) has unknown type \(typeRaw)")
            }
            if Int(chunkOffset) + Int(storedLength) > payloadBytes || Int(rawLength) > Encoding.rawLengthMax(rows: rows) {
                throw .damaged("\(what()): column \(c) chunk lies outside the block payload")
            }
            chunks.append(ChunkDescriptor(
                type: type, encoding: Encoding(flags: flags, scale: scale, divisor: divisor),
                rawLength: rawLength, storedLength: storedLength, offset: chunkOffset, hash: hash, stats: stats))
        }
        if chunks.first?.type != .int64 { throw .damaged("\(what()): time column is not int64") }
        return BlockHeader(
            rows: rows, tableID: tableID, symbolID: symbolID, firstTime: firstTime, lastTime: lastTime,
            headerBytes: headerBytes, payloadBytes: payloadBytes, chunks: chunks)
    }

    /// The stored bytes of chunk `c`, checked against its checksum.
    func chunkBytes(
        _ c: Int, in region: UnsafeRawBufferPointer, blockOffset: Int, verify: Bool, what: () -> String
    ) throws(StrataError) -> UnsafeRawBufferPointer {
        let d = chunks[c]
        let start = blockOffset + headerBytes + Int(d.offset)
        let bytes = UnsafeRawBufferPointer(rebasing: region[start..<start + Int(d.storedLength)])
        if verify && XXH64.hash(bytes) != d.hash {
            throw .damaged("\(what()): checksum mismatch in column \(c)")
        }
        return bytes
    }
}
