/// What a database holds and what it costs on disk.
public struct TableInfo: Sendable {
    /// One column's storage: the time column first, then the value columns.
    public struct ColumnInfo: Sendable {
        /// The column's name.
        public var name: String
        /// Its type (`int64`, `float64`, `string`).
        public var type: String
        /// Stored bytes of this column's chunks across all blocks.
        public var bytes: Int
        /// Chunks by encoding, such as "decimal(3)+delta+zigzag+shuffle+lz4": count.
        public var encodings: [String: Int]
    }

    /// One symbol's rows and blocks.
    public struct SymbolInfo: Sendable {
        /// The symbol.
        public var name: String
        /// Its rows.
        public var rows: Int
        /// Its blocks.
        public var blocks: Int
        /// Its first time (nil without rows).
        public var firstTime: Int64?
        /// Its last time (nil without rows).
        public var lastTime: Int64?
    }

    /// The table's name.
    public var name: String
    /// Its schema.
    public var schema: Schema
    /// Its rows.
    public var rows = 0
    /// Its blocks.
    public var blocks = 0
    /// Bytes of this table's data files: live (blocks in the index, file headers) and dead.
    public var bytes = 0
    /// Bytes of the blocks the index refers to, plus the data file headers.
    public var liveBytes = 0
    /// Bytes of blocks that late rows, deletes and rewrites replaced: reclaimed by compaction.
    public var deadBytes: Int { bytes - liveBytes }
    /// Bytes of block headers (descriptors and statistics), within `liveBytes`.
    public var headerBytes = 0
    /// Bytes of chunks of dropped columns that blocks still hold: reclaimed by compaction.
    public var droppedColumnBytes = 0
    /// Its data files.
    public var files = 0
    /// Its columns' storage, the time column first.
    public var columns: [ColumnInfo] = []
    /// Its symbols with rows, in id order.
    public var symbols: [SymbolInfo] = []
}

extension Snapshot {
    /// Table statistics; reads every block header (not the payloads).
    public func info(_ table: String) throws(StrataError) -> TableInfo {
        let t = try tableState(table)
        var info = TableInfo(name: t.name, schema: t.schema)
        info.columns = [TableInfo.ColumnInfo(name: t.schema.timeColumn, type: "int64", bytes: 0, encodings: [:])]
            + t.schema.columns.map { TableInfo.ColumnInfo(name: $0.name, type: $0.type.description, bytes: 0, encodings: [:]) }
        info.files = t.files.count
        info.bytes = t.files.reduce(0) { $0 + Int(catalog.files[$1]!.length) }
        info.liveBytes = t.files.count * DataFileFormat.headerBytes
        let copy = BlockCopy()
        for symbolID in t.symbols.indices where t.symbols[symbolID].rows > 0 {
            let s = t.symbols[symbolID]
            info.liveBytes += s.blocks.reduce(0) { $0 + Int($1.length) }
            info.symbols.append(TableInfo.SymbolInfo(
                name: s.name, rows: s.rows, blocks: s.blocks.count, firstTime: s.blocks.first?.firstTime, lastTime: s.blocks.last?.lastTime))
            info.rows += s.rows
            info.blocks += s.blocks.count
            for index in s.blocks.indices {
                let h = try statsHeader(t, symbol: symbolID, block: index, copy: copy)
                info.headerBytes += h.headerBytes
                for (c, chunk) in h.chunks.enumerated() {
                    let slot = c == 0 ? 0 : t.schema.columnIndex(id: chunk.columnID).map { $0 + 1 }
                    guard let slot else {
                        info.droppedColumnBytes += Int(chunk.storedLength)
                        continue
                    }
                    info.columns[slot].bytes += Int(chunk.storedLength)
                    info.columns[slot].encodings[chunk.encoding.summary, default: 0] += 1
                }
            }
        }
        info.symbols.sort { utf8Less($0.name, $1.name) }
        return info
    }
}

extension Database {
    /// Bytes of every file in the database directory.
    public static func bytesOnDisk(_ path: String) -> Int { bytesOnDisk(path, fs: PosixFileSystem()) }

    static func bytesOnDisk(_ path: String, fs: any FileSystem) -> Int {
        var total = 0
        for name in (try? fs.list(path)) ?? [] {
            guard let h = try? fs.open(path + "/" + name, create: false, writable: false) else { continue }
            total += Int((try? fs.size(h)) ?? 0)
            fs.close(h)
        }
        return total
    }
}
