/// The parts of Parquet's metadata (parquet.thrift) that Strata writes and reads, with their Thrift
/// field ids. Only flat schemas: a root and its primitive columns.
enum ParquetPhysical: Int64 {
    case boolean = 0
    case int32 = 1
    case int64 = 2
    case int96 = 3
    case float = 4
    case double = 5
    case byteArray = 6
    case fixedLenByteArray = 7
}

/// `Encoding` of parquet.thrift.
enum ParquetValueEncoding: Int64 {
    case plain = 0
    case plainDictionary = 2
    case rle = 3
    case bitPacked = 4
    case deltaBinaryPacked = 5
    case deltaLengthByteArray = 6
    case deltaByteArray = 7
    case rleDictionary = 8
    case byteStreamSplit = 9
}

enum ParquetPageType: Int64 {
    case data = 0
    case index = 1
    case dictionary = 2
    case dataV2 = 3
}

/// What a column's values mean, from its logical type or, in older files, its converted type.
enum ParquetLogical: Equatable {
    case none
    case string
    /// Units per second: 1,000 (millis), 1,000,000 (micros), 1,000,000,000 (nanos).
    case timestamp(perSecond: Int64)
    case date
    case decimal(scale: Int, precision: Int)
    case integer(bits: Int, signed: Bool)
    /// Anything else (JSON, UUID, TIME, INTERVAL, ...), by name, refused on import.
    case other(String)
}

/// A primitive column of a flat schema.
struct ParquetLeaf {
    var name: String
    var physical: ParquetPhysical
    var optional: Bool
    var logical: ParquetLogical
    var typeLength = 0
}

/// Statistics of a column chunk, values PLAIN-encoded (byte arrays without their length).
struct ParquetStatistics {
    var min: [UInt8]?
    var max: [UInt8]?
    var nullCount: Int64
    var nanCount: Int64?

    func write(_ w: inout ThriftWriter) {
        w.i64(3, nullCount)
        if let max { w.binary(5, max) }
        if let min { w.binary(6, min) }
        if let nanCount { w.i64(9, nanCount) }
    }
}

/// One column chunk of a row group, as the footer describes it.
struct ParquetChunkMeta {
    var physical: ParquetPhysical
    var encodings: [ParquetValueEncoding]
    var path: String
    var codec: Int64
    var values: Int64
    var uncompressedBytes: Int64
    var compressedBytes: Int64
    var dataPageOffset: Int64
    var dictionaryPageOffset: Int64?
    var statistics: ParquetStatistics?

    /// The same chunk written at `base` in the file (its offsets were relative to its start).
    func placed(at base: Int64) -> ParquetChunkMeta {
        var m = self
        m.dataPageOffset += base
        m.dictionaryPageOffset = dictionaryPageOffset.map { $0 + base }
        return m
    }

    func write(_ w: inout ThriftWriter) {
        w.i64(2, 0)  // file_offset: deprecated, 0
        w.structField(3) { m in
            m.i32(1, Int32(physical.rawValue))
            m.i32List(2, encodings.map { Int32($0.rawValue) })
            m.stringList(3, [path])
            m.i32(4, Int32(codec))
            m.i64(5, values)
            m.i64(6, uncompressedBytes)
            m.i64(7, compressedBytes)
            m.i64(9, dataPageOffset)
            if let dictionaryPageOffset { m.i64(11, dictionaryPageOffset) }
            if let statistics { m.structField(12) { statistics.write(&$0) } }
        }
    }
}

struct ParquetRowGroupMeta {
    var chunks: [ParquetChunkMeta]
    var rows: Int64
    var fileOffset: Int64

    func write(_ w: inout ThriftWriter, ordinal: Int) {
        w.structList(1, chunks) { $1.write(&$0) }
        w.i64(2, chunks.reduce(0) { $0 + $1.uncompressedBytes })
        w.i64(3, rows)
        w.i64(5, fileOffset)
        w.i64(6, chunks.reduce(0) { $0 + $1.compressedBytes })
        if ordinal <= Int(Int16.max) {
            w.fieldHeader(7, .i16)
            w.zigzag(Int64(ordinal))
        }
    }
}

enum ParquetFooter {
    /// The FileMetaData of a file of `leaves` and `rowGroups`.
    static func encode(leaves: [ParquetLeaf], rowGroups: [ParquetRowGroupMeta], keyValues: [(String, String)], createdBy: String) -> [UInt8] {
        var w = ThriftWriter()
        w.structValue { f in
            f.i32(1, 1)  // version
            f.listHeader(2, .structure, count: leaves.count + 1)
            f.structValue { root in
                root.string(4, "schema")
                root.i32(5, Int32(leaves.count))
            }
            for leaf in leaves { f.structValue { writeLeaf(leaf, &$0) } }
            f.i64(3, rowGroups.reduce(0) { $0 + $1.rows })
            f.listHeader(4, .structure, count: rowGroups.count)
            for (k, g) in rowGroups.enumerated() { f.structValue { g.write(&$0, ordinal: k) } }
            if !keyValues.isEmpty {
                f.structList(5, keyValues) { w, kv in
                    w.string(1, kv.0)
                    w.string(2, kv.1)
                }
            }
            f.string(6, createdBy)
            // column_orders: TYPE_ORDER for every leaf, which says how min and max were chosen.
            f.listHeader(7, .structure, count: leaves.count)
            for _ in leaves { f.structValue { $0.structField(1) { _ in } } }
        }
        return w.bytes
    }

    private static func writeLeaf(_ leaf: ParquetLeaf, _ w: inout ThriftWriter) {
        w.i32(1, Int32(leaf.physical.rawValue))
        w.i32(3, leaf.optional ? 1 : 0)
        w.string(4, leaf.name)
        switch leaf.logical {
        case .string:
            w.i32(6, 0)  // UTF8
            w.structField(10) { $0.structField(1) { _ in } }
        case .timestamp(let perSecond):
            // The legacy annotation exists for millis and micros only (none for nanos).
            if perSecond == 1_000 { w.i32(6, 9) } else if perSecond == 1_000_000 { w.i32(6, 10) }
            w.structField(10) { l in
                l.structField(8) { t in
                    t.bool(1, true)
                    t.structField(2) { u in u.structField(perSecond == 1_000 ? 1 : perSecond == 1_000_000 ? 2 : 3) { _ in } }
                }
            }
        default: break
        }
    }
}
