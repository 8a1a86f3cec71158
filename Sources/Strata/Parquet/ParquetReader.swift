/// Reads a Parquet file with a flat schema, a row group at a time (see FORMAT-NOTES.md).
///
/// The file is mapped read-only; the footer is parsed whole at open and checked (magic, lengths,
/// every column chunk inside the file, flat schema, no encryption). `read(rowGroup:column:)` decodes
/// one column chunk: its pages (v1 and v2; dictionary pages), decompressed with their codec, values
/// in PLAIN, dictionary, RLE (booleans), DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
/// DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT encodings. Every error names the file and, where known,
/// the column, row group and page; damaged input never traps.
final class ParquetFile {
    let path: String
    private let region: MappedRegion
    let leaves: [ParquetLeaf]
    let rowGroups: [RowGroup]
    /// Key-value metadata of the footer.
    let keyValues: [String: String]

    struct Chunk {
        var physical: ParquetPhysical
        var codec: ParquetCodec
        var values: Int
        var range: Range<Int>
    }

    struct RowGroup {
        var rows: Int
        var chunks: [Chunk]
    }

    init(path: String, fs: any FileSystem = PosixFileSystem()) throws(StrataError) {
        self.path = path
        let h = try fs.open(path, create: false, writable: false)
        defer { fs.close(h) }
        let size = Int(try fs.size(h))
        guard size >= 12 else { throw .badInput("\(path): not a Parquet file (\(size) bytes, too short for the PAR1 magic and a footer)") }
        region = try fs.map(h, length: size)
        let meta = try region.withBytes { (b) throws(StrataError) in try Self.footer(b, path: path) }
        leaves = try Self.schema(meta, path: path)
        rowGroups = try Self.rowGroups(meta, leaves: leaves, fileSize: size, path: path)
        var kv: [String: String] = [:]
        for item in meta.structs(5) ?? [] {
            if let k = item.string(1) { kv[k] = item.string(2) ?? "" }
        }
        keyValues = kv
    }

    private static func footer(_ b: UnsafeRawBufferPointer, path: String) throws(StrataError) -> ThriftStruct {
        let tail = Array(b[(b.count - 4)...])
        if tail == Array("PARE".utf8) { throw .badInput("\(path): the file is encrypted (PARE footer); Strata reads plain Parquet only") }
        guard Array(b[0..<4]) == Array("PAR1".utf8), tail == Array("PAR1".utf8) else {
            throw .badInput("\(path): not a Parquet file (no PAR1 magic at its start and end)")
        }
        let length = Int(b.loadUnaligned(fromByteOffset: b.count - 8, as: UInt32.self).littleEndian)
        guard length > 0, length <= b.count - 12 else {
            throw .badInput("\(path): damaged footer (its length \(length) does not fit in the file of \(b.count) bytes)")
        }
        var r = ThriftReader(UnsafeRawBufferPointer(rebasing: b[(b.count - 8 - length)..<(b.count - 8)]))
        do {
            return try r.readStruct()
        } catch {
            throw .badInput("\(path): damaged footer (\(error.message))")
        }
    }


    private static func schema(_ meta: ThriftStruct, path: String) throws(StrataError) -> [ParquetLeaf] {
        guard let elements = meta.structs(2), let root = elements.first else { throw .badInput("\(path): the footer has no schema") }
        let children = Int(root.int(5) ?? 0)
        guard children == elements.count - 1 else {
            throw .badInput("\(path): nested columns (groups, lists or maps) are not supported; Strata reads flat tables")
        }
        var leaves: [ParquetLeaf] = []
        for e in elements.dropFirst() {
            let name = e.string(4) ?? ""
            if e.has(5) || e.int(1) == nil {
                throw .badInput("\(path), column \(name): nested columns (groups, lists or maps) are not supported; Strata reads flat tables")
            }
            guard let physical = ParquetPhysical(rawValue: e.int(1)!) else { throw .badInput("\(path), column \(name): unknown physical type \(e.int(1)!)") }
            let repetition = e.int(3) ?? 0
            if repetition == 2 { throw .badInput("\(path), column \(name): repeated columns are not supported; Strata reads flat tables") }
            let typeLength = Int(e.int(2) ?? 0)
            if physical == .fixedLenByteArray && (typeLength <= 0 || typeLength > 1 << 20) {
                throw .badInput("\(path), column \(name): fixed-length byte arrays of \(typeLength) bytes")
            }
            leaves.append(ParquetLeaf(name: name, physical: physical, optional: repetition == 1, logical: logical(e), typeLength: typeLength))
        }
        return leaves
    }

    /// The logical type of a schema element, from `logicalType` or else the legacy converted type.
    private static func logical(_ e: ThriftStruct) -> ParquetLogical {
        if let l = e.structure(10), let (id, _) = l.fields.first {
            switch id {
            case 1: return .string
            case 5:
                let d = l.structure(5)
                return .decimal(scale: Int(d?.int(1) ?? 0), precision: Int(d?.int(2) ?? 0))
            case 6: return .date
            case 8:
                let unit = l.structure(8)?.structure(2)?.fields.keys.first ?? 1
                return .timestamp(perSecond: unit == 1 ? 1_000 : unit == 2 ? 1_000_000 : 1_000_000_000)
            case 10:
                let i = l.structure(10)
                return .integer(bits: Int(i?.int(1) ?? 64), signed: i?.bool(2) ?? true)
            case 11: return .none  // UNKNOWN: always null
            case 4, 12: return .string  // ENUM and JSON are UTF-8 text
            default:
                let names: [Int16: String] = [2: "MAP", 3: "LIST", 7: "TIME", 13: "BSON", 14: "UUID", 15: "FLOAT16", 16: "VARIANT"]
                return .other(names[id] ?? "logical type \(id)")
            }
        }
        switch e.int(6) {
        case 0?: return .string
        case 4?: return .string  // ENUM
        case 5?: return .decimal(scale: Int(e.int(7) ?? 0), precision: Int(e.int(8) ?? 0))
        case 6?: return .date
        case 9?: return .timestamp(perSecond: 1_000)
        case 10?: return .timestamp(perSecond: 1_000_000)
        case 11?, 12?, 13?, 14?: return .integer(bits: 64, signed: false)
        case 15?, 16?, 17?, 18?: return .integer(bits: 64, signed: true)
        case let c?: return .other("converted type \(c)")
        case nil: return .none
        }
    }

    private static func rowGroups(_ meta: ThriftStruct, leaves: [ParquetLeaf], fileSize: Int, path: String) throws(StrataError) -> [RowGroup] {
        var out: [RowGroup] = []
        for (g, group) in (meta.structs(4) ?? []).enumerated() {
            let rows = Int(group.int(3) ?? -1)
            guard rows >= 0, let columns = group.structs(1), columns.count == leaves.count else {
                throw .badInput("\(path), row group \(g): damaged footer (row count or columns)")
            }
            var chunks: [Chunk] = []
            for (c, column) in columns.enumerated() {
                let what = "\(path), column \(leaves[c].name), row group \(g)"
                if column.has(8) || column.has(9) { throw .badInput("\(what): the column is encrypted") }
                if column.has(1) { throw .badInput("\(what): the column's data is in another file") }
                guard let m = column.structure(3), let codecID = m.int(4), let values = m.int(5), let dataOffset = m.int(9),
                    let size = m.int(7)
                else { throw .badInput("\(what): damaged footer (column metadata)") }
                guard let codec = ParquetCodec(rawValue: Int32(truncatingIfNeeded: codecID)), Int64(codec.rawValue) == codecID else {
                    throw .badInput("\(what): compression \(ParquetCodec.describe(codecID)) is not supported (Strata reads SNAPPY, GZIP, ZSTD, LZ4_RAW and uncompressed)")
                }
                var start = dataOffset
                if let d = m.int(11), d > 0, d < dataOffset { start = d }
                guard start >= 4, size >= 0, values >= 0, start <= Int64(fileSize - 8), size <= Int64(fileSize - 8) - start else {
                    throw .badInput("\(what): damaged footer (the chunk at \(start), \(size) bytes, lies outside the file)")
                }
                chunks.append(Chunk(physical: leaves[c].physical, codec: codec, values: Int(values), range: Int(start)..<Int(start + size)))
            }
            out.append(RowGroup(rows: rows, chunks: chunks))
        }
        return out
    }

    /// Drops the mapped pages of the file before the end of row group `g` from this process (an
    /// import reads row groups in order), so that the resident set does not grow with the file.
    func release(through g: Int) {
        region.release(upTo: rowGroups[g].chunks.map(\.range.upperBound).max() ?? 0)
    }

    /// Decodes column `c` of row group `g`.
    func read(rowGroup g: Int, column c: Int) throws(StrataError) -> ParquetColumnData {
        let chunk = rowGroups[g].chunks[c]
        var decoder = ParquetChunkDecoder(leaf: leaves[c], chunk: chunk, rows: rowGroups[g].rows)
        let what = "\(path), column \(leaves[c].name), row group \(g)"
        return try region.withBytes { (b) throws(StrataError) in
            do {
                try decoder.decode(UnsafeRawBufferPointer(rebasing: b[chunk.range]))
            } catch let e as ParquetEncoding.Malformed {
                throw StrataError.badInput("\(what)\(decoder.pageContext): \(e.message)")
            } catch {
                throw StrataError.badInput("\(what): \(error)")
            }
            return decoder.data
        }
    }
}

/// One column chunk's values, a row each: `ints` (INT32, INT64, BOOLEAN as 0/1, INT96 as
/// nanoseconds, decimals as unscaled integers), `doubles` (FLOAT, DOUBLE) or `strings` (byte arrays);
/// null rows hold 0 or "" and are marked in `nulls` (empty when none).
struct ParquetColumnData {
    var ints: [Int64] = []
    var doubles: [Double] = []
    var strings: [String] = []
    var nulls: [Bool] = []
}
