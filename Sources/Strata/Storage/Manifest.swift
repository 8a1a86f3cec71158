/// The manifest: an append-only log of commit records, the single source of truth for what is
/// committed. A commit is durable and visible exactly when its record is complete in this log.
/// Byte layout in Format.md, "The manifest".
enum ManifestFormat {
    static let fileName = "MANIFEST"
    static let fileMagic: [UInt8] = Array("STRATAMF".utf8)
    /// Version 2 added the entries that rewrite history (replace blocks, table key, drop table, id
    /// floors); version 3 text columns, nulls and changing columns (version 2 blocks, the columns
    /// entry); version 4 predicted chunks (encoding flag 128: turnover stored as its difference from
    /// volume × (high + low) / 2); version 5 time columns stored as runs (descriptor byte 3);
    /// version 6 bit-packed value chunks stored in segments (descriptor byte 3 = 2). An
    /// older manifest is read as it is and upgraded in place before this build's first commit.
    static let version: UInt32 = 6
    static let versionsRead: ClosedRange<UInt32> = 1...6
    static let fileHeaderBytes = 16
    static let recordMagic: UInt32 = 0x3152_4D53  // "SMR1"
    static let recordHeaderBytes = 24
    static let recordHashOffset = 16
}

/// One change inside a commit record.
enum ManifestEntry: Equatable {
    case createTable(id: UInt32, name: String, schema: Schema)
    case addSymbol(table: UInt32, id: UInt32, name: String)
    case addFile(id: UInt32, table: UInt32)
    case addBlock(table: UInt32, symbol: UInt32, ref: BlockRef)
    case fileLength(file: UInt32, length: UInt64)
    /// Blocks `at ..< at + removing` of a symbol are replaced by `refs` (late rows merged, rows deleted).
    case replaceBlocks(table: UInt32, symbol: UInt32, at: UInt32, removing: UInt32, refs: [BlockRef])
    /// The table keeps one row per (symbol, time).
    case tableKey(table: UInt32)
    case dropTable(table: UInt32)
    /// Ids below these were used (and may still name files on disk): new ones start at or above them.
    case idFloor(table: UInt32, file: UInt32)
    /// The table's value columns from now on (after an added, dropped or renamed column), with the
    /// symbol and time columns' names and header positions, and the next column id.
    case columns(table: UInt32, schema: Schema)

    fileprivate var tag: UInt8 {
        switch self {
        case .createTable: 1
        case .addSymbol: 2
        case .addFile: 3
        case .addBlock: 4
        case .fileLength: 5
        case .replaceBlocks: 6
        case .tableKey: 7
        case .dropTable: 8
        case .idFloor: 9
        case .columns: 10
        }
    }
}

/// Where a block lives and what it spans; everything else is in the block's own header.
struct BlockRef: Equatable, Sendable {
    var file: UInt32
    var offset: UInt64
    var length: UInt32
    var rows: UInt32
    var firstTime: Int64
    var lastTime: Int64
}

enum ManifestCodec {
    /// `checkpointRecords`: how many records at the start of the file form a checkpoint.
    static func fileHeader(checkpointRecords: Int = 0) -> [UInt8] {
        var w = ByteWriter()
        w.bytes.append(contentsOf: ManifestFormat.fileMagic)
        w.u32(ManifestFormat.version)
        w.u32(UInt32(checkpointRecords))
        return w.bytes
    }

    static func encodeRecord(sequence: UInt64, entries: [ManifestEntry]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(ManifestFormat.recordMagic)
        w.u32(0)  // body length, patched
        w.u64(sequence)
        w.u64(0)  // hash, patched
        for e in entries {
            w.u8(e.tag)
            switch e {
            case .createTable(let id, let name, let s):
                w.u32(id)
                w.string(name)
                w.u8(s.timeUnit.rawValue)
                writeLayout(s, ids: false, &w)
            case .addSymbol(let table, let id, let name):
                w.u32(table)
                w.u32(id)
                w.string(name)
            case .addFile(let id, let table):
                w.u32(id)
                w.u32(table)
            case .addBlock(let table, let symbol, let ref):
                w.u32(table)
                w.u32(symbol)
                writeRef(ref, &w)
            case .fileLength(let file, let length):
                w.u32(file)
                w.u64(length)
            case .replaceBlocks(let table, let symbol, let at, let removing, let refs):
                w.u32(table)
                w.u32(symbol)
                w.u32(at)
                w.u32(removing)
                w.u32(UInt32(refs.count))
                for ref in refs { writeRef(ref, &w) }
            case .tableKey(let table):
                w.u32(table)
                w.u8(1)
            case .dropTable(let table):
                w.u32(table)
            case .idFloor(let table, let file):
                w.u32(table)
                w.u32(file)
            case .columns(let table, let s):
                w.u32(table)
                w.u32(s.nextColumnID)
                writeLayout(s, ids: true, &w)
            }
        }
        w.patch(u32: UInt32(w.bytes.count - ManifestFormat.recordHeaderBytes), at: 4)
        let hash = XXH64.hash(w.bytes)
        w.patch(u64: hash, at: ManifestFormat.recordHashOffset)
        return w.bytes
    }

    /// What tags 1 and 10 share (`readLayout` reads it back).
    private static func writeLayout(_ s: Schema, ids: Bool, _ w: inout ByteWriter) {
        w.string(s.symbolColumn)
        w.string(s.timeColumn)
        w.u16(UInt16(s.symbolPosition))
        w.u16(UInt16(s.timePosition))
        w.u32(UInt32(s.columns.count))
        for c in s.columns {
            if ids { w.u32(c.id) }
            w.u8(c.type.rawValue)
            w.string(c.name)
        }
    }

    private static func writeRef(_ ref: BlockRef, _ w: inout ByteWriter) {
        w.u32(ref.file)
        w.u64(ref.offset)
        w.u32(ref.length)
        w.u32(ref.rows)
        w.i64(ref.firstTime)
        w.i64(ref.lastTime)
    }

    private static func readRef(_ r: inout ByteReader) throws(StrataError) -> BlockRef {
        BlockRef(
            file: try r.u32(), offset: try r.u64(), length: try r.u32(), rows: try r.u32(),
            firstTime: try r.i64(), lastTime: try r.i64())
    }

    /// The whole of `catalog` as commit records for a fresh manifest (a checkpoint), numbered from
    /// `firstSequence` on. Records stay near `recordBytes`, far below the record limit, whatever the
    /// number of blocks. Replaying them gives back `catalog`: tables in id order, then their symbols,
    /// files with their lengths (in the table's file order), then every symbol's blocks in time order.
    static func checkpoint(_ catalog: Catalog, firstSequence: UInt64, recordBytes: Int = 4 << 20) -> [[UInt8]] {
        checkpointEntries(catalog, recordBytes: recordBytes).enumerated().map { i, entries in
            encodeRecord(sequence: firstSequence + UInt64(i), entries: entries)
        }
    }

    /// The same, numbered so that its last record has `catalog.sequence` (the state it holds keeps its
    /// number, and the records after it in the old manifest can follow it unchanged); nil when the
    /// sequence is too small for that.
    static func checkpoint(endingAtSequenceOf catalog: Catalog, recordBytes: Int = 4 << 20) -> [[UInt8]]? {
        let groups = checkpointEntries(catalog, recordBytes: recordBytes)
        guard catalog.sequence >= UInt64(groups.count) else { return nil }
        let first = catalog.sequence + 1 - UInt64(groups.count)
        return groups.enumerated().map { i, entries in encodeRecord(sequence: first + UInt64(i), entries: entries) }
    }

    /// The entries of a checkpoint of `catalog`, one array per record.
    private static func checkpointEntries(_ catalog: Catalog, recordBytes: Int) -> [[ManifestEntry]] {
        var records: [[ManifestEntry]] = []
        var entries: [ManifestEntry] = []
        var bytes = 0
        func add(_ e: ManifestEntry, _ size: Int) {
            entries.append(e)
            bytes += size
            if bytes >= recordBytes {
                records.append(entries)
                entries = []
                bytes = 0
            }
        }
        let tables = catalog.tables.values.sorted { $0.id < $1.id }
        add(.idFloor(table: catalog.nextTableID, file: catalog.nextFileID), 9)
        for t in tables {
            add(.createTable(id: t.id, name: t.name, schema: t.schema), 64 + 64 * t.schema.columns.count)
            if t.schema.dedup { add(.tableKey(table: t.id), 6) }
            if Schema(columns: t.schema.columns).columns != t.schema.columns { add(.columns(table: t.id, schema: t.schema), 64 + 64 * t.schema.columns.count) }
        }
        for t in tables {
            for (id, s) in t.symbols.enumerated() { add(.addSymbol(table: t.id, id: UInt32(id), name: s.name), 13 + s.name.utf8.count) }
            for f in t.files {
                add(.addFile(id: f, table: t.id), 9)
                add(.fileLength(file: f, length: catalog.files[f]!.length), 13)
            }
        }
        for t in tables {
            for (id, s) in t.symbols.enumerated() {
                for ref in s.blocks { add(.addBlock(table: t.id, symbol: UInt32(id), ref: ref), 45) }
            }
        }
        if !entries.isEmpty || records.isEmpty { records.append(entries) }
        return records
    }

    enum RecordResult {
        case record(sequence: UInt64, entries: [ManifestEntry], bytes: Int)
        /// The bytes from here to the end of the file do not hold a complete, valid record.
        case tornTail(reason: String)
    }

    /// Reads the record at `offset` of `bytes` (which run to the end of the file).
    static func readRecord(_ bytes: UnsafeRawBufferPointer, from offset: Int, fileOffset: Int, path: String) throws(StrataError) -> RecordResult {
        try readRecord(UnsafeRawBufferPointer(rebasing: bytes[offset...]), fileOffset: fileOffset, path: path)
    }

    /// Reads the record at the start of `bytes` (which run to the end of the file).
    /// A record that is incomplete or fails its checksum and reaches the end of the file is a torn tail;
    /// one that fails and is followed by more bytes is damage.
    static func readRecord(_ bytes: UnsafeRawBufferPointer, fileOffset: Int, path: String) throws(StrataError) -> RecordResult {
        if bytes.count < ManifestFormat.recordHeaderBytes {
            return .tornTail(reason: "\(bytes.count) bytes after the last record")
        }
        var r = ByteReader(bytes, what: { "\(path), record at offset \(fileOffset)" })
        let magic = try r.u32()
        let bodyLength = Int(try r.u32())
        let sequence = try r.u64()
        let storedHash = try r.u64()
        let total = ManifestFormat.recordHeaderBytes + bodyLength
        if magic != ManifestFormat.recordMagic || bodyLength > Limits.manifestRecordBytesMax || total > bytes.count {
            if allZeroOrShort(bytes, magic: magic, total: total) {
                return .tornTail(reason: "an incomplete record at offset \(fileOffset)")
            }
            throw .damaged("\(path): bad record header at offset \(fileOffset)")
        }
        let record = UnsafeRawBufferPointer(rebasing: bytes[0..<total])
        if XXH64.hash(record, zeroingWordAt: ManifestFormat.recordHashOffset) != storedHash {
            if total == bytes.count || bytes[total...].allSatisfy({ $0 == 0 }) {
                return .tornTail(reason: "a torn last record at offset \(fileOffset)")
            }
            throw .damaged("\(path): checksum mismatch in the commit record at offset \(fileOffset)")
        }
        var body = ByteReader(
            UnsafeRawBufferPointer(rebasing: bytes[ManifestFormat.recordHeaderBytes..<total]),
            what: { "\(path), record at offset \(fileOffset)" })
        var entries: [ManifestEntry] = []
        entries.reserveCapacity(bodyLength / 48)  // a block entry takes 45 bytes
        while body.remaining > 0 {
            entries.append(try readEntry(&body))
        }
        return .record(sequence: sequence, entries: entries, bytes: total)
    }

    /// A bad header counts as a torn tail only when what follows could be an unfinished append:
    /// the header itself is past the end, or everything from here on is zero (a preallocated or torn page).
    private static func allZeroOrShort(_ bytes: UnsafeRawBufferPointer, magic: UInt32, total: Int) -> Bool {
        if magic == ManifestFormat.recordMagic && total > bytes.count { return true }
        return bytes.allSatisfy { $0 == 0 }
    }

    /// What tags 1 and 10 share: the symbol and time columns' names and positions, then the value
    /// columns (tag 10 gives each its id; tag 1's are numbered in order).
    private static func readLayout(_ r: inout ByteReader, ids: Bool) throws(StrataError) -> (
        symbolColumn: String, timeColumn: String, symbolPosition: Int, timePosition: Int, columns: [Column]
    ) {
        let symbolColumn = try r.string(maxBytes: Limits.columnNameBytesMax)
        let timeColumn = try r.string(maxBytes: Limits.columnNameBytesMax)
        let symbolPosition = Int(try r.u16())
        let timePosition = Int(try r.u16())
        let count = Int(try r.u32())
        if count > Limits.valueColumnsMax { throw .damaged("\(r.what()): \(count) columns") }
        var columns: [Column] = []
        for k in 0..<count {
            let id = ids ? try r.u32() : UInt32(k)
            guard let type = ColumnType(rawValue: try r.u8()) else { throw .damaged("\(r.what()): unknown column type") }
            columns.append(Column(try r.string(maxBytes: Limits.columnNameBytesMax), type, id: id))
        }
        return (symbolColumn, timeColumn, symbolPosition, timePosition, columns)
    }

    /// Tag 10: the table's columns; checked against the table when applied.
    private static func readColumns(_ r: inout ByteReader) throws(StrataError) -> ManifestEntry {
        let table = try r.u32()
        let next = try r.u32()
        let layout = try readLayout(&r, ids: true)
        let columns = layout.columns
        var schema = Schema(
            symbolColumn: layout.symbolColumn, timeColumn: layout.timeColumn, columns: [],
            symbolPosition: layout.symbolPosition, timePosition: layout.timePosition)
        schema.columns = columns
        schema.nextColumnID = next
        do { try schema.validate() } catch { throw .damaged("\(r.what()): invalid columns: \(error.message)") }
        if zip(columns, columns.dropFirst()).contains(where: { $0.id >= $1.id }) {
            throw .damaged("\(r.what()): column ids are not ascending")
        }
        return .columns(table: table, schema: schema)
    }

    private static func readEntry(_ r: inout ByteReader) throws(StrataError) -> ManifestEntry {
        let tag = try r.u8()
        switch tag {
        case 1:
            let id = try r.u32()
            let name = try r.string(maxBytes: Limits.tableNameBytesMax)
            guard let unit = TimeUnit(rawValue: try r.u8()) else { throw .damaged("\(r.what()): unknown time unit") }
            let layout = try readLayout(&r, ids: false)
            let schema = Schema(
                symbolColumn: layout.symbolColumn, timeColumn: layout.timeColumn, timeUnit: unit, columns: layout.columns,
                symbolPosition: layout.symbolPosition, timePosition: layout.timePosition)
            do { try schema.validate() } catch { throw .damaged("\(r.what()): invalid schema: \(error.message)") }
            return .createTable(id: id, name: name, schema: schema)
        case 2:
            return .addSymbol(table: try r.u32(), id: try r.u32(), name: try r.string(maxBytes: Limits.symbolBytesMax))
        case 3:
            return .addFile(id: try r.u32(), table: try r.u32())
        case 4:
            let table = try r.u32(), symbol = try r.u32()
            return .addBlock(table: table, symbol: symbol, ref: try readRef(&r))
        case 5:
            return .fileLength(file: try r.u32(), length: try r.u64())
        case 6:
            let table = try r.u32(), symbol = try r.u32(), at = try r.u32(), removing = try r.u32()
            let n = Int(try r.u32())
            if n > Limits.manifestRecordBytesMax / 40 { throw .damaged("\(r.what()): \(n) blocks in one replacement") }
            var refs: [BlockRef] = []
            for _ in 0..<n { refs.append(try readRef(&r)) }
            return .replaceBlocks(table: table, symbol: symbol, at: at, removing: removing, refs: refs)
        case 7:
            let table = try r.u32()
            let key = try r.u8()
            if key != 1 { throw .damaged("\(r.what()): unknown table key kind \(key)") }
            return .tableKey(table: table)
        case 8:
            return .dropTable(table: try r.u32())
        case 9:
            return .idFloor(table: try r.u32(), file: try r.u32())
        case 10:
            return try readColumns(&r)
        default:
            throw .damaged("\(r.what()): unknown entry tag \(tag) at byte \(r.offset - 1)")
        }
    }
}
