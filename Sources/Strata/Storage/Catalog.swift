/// What is committed, as a value: tables, their symbols and each symbol's block index.
/// Built by replaying the manifest; copied cheaply (copy-on-write) into every snapshot.
struct Catalog: Sendable {
    struct SymbolState: Sendable {
        var name: String
        /// In time order: each block starts at or after the previous block's last time.
        var blocks = BlockList()
        var rows: Int = 0
    }

    struct TableState: Sendable {
        var id: UInt32
        var name: String
        var schema: Schema
        /// Indexed by symbol id.
        var symbols: [SymbolState] = []
        var symbolIDs: [ByteString: UInt32] = [:]
        /// Data files of this table, in creation order.
        var files: [UInt32] = []

        /// The id of a symbol, matched by its bytes.
        func symbolID(_ symbol: String) -> UInt32? { symbolIDs[ByteString(symbol)] }
    }

    struct FileState: Sendable {
        var id: UInt32
        var table: UInt32
        var length: UInt64
    }

    var tables: [UInt32: TableState] = [:]
    var tableIDs: [ByteString: UInt32] = [:]
    var files: [UInt32: FileState] = [:]
    var sequence: UInt64 = 0

    /// The id of a table, matched by the bytes of its name.
    func tableID(_ name: String) -> UInt32? { tableIDs[ByteString(name)] }

    var nextTableID: UInt32 { (tables.keys.max() ?? 0) + 1 }
    var nextFileID: UInt32 { (files.keys.max() ?? 0) + 1 }

    static func dataFileName(_ id: UInt32) -> String {
        let digits = String(id)
        return "d" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".sdf"
    }

    /// Applies one commit record's entries, checking every reference; damage is reported, never trusted.
    mutating func apply(_ entries: [ManifestEntry], what: () -> String) throws(StrataError) {
        for entry in entries {
            switch entry {
            case .createTable(let id, let name, let schema):
                if tables[id] != nil || tableIDs[ByteString(name)] != nil {
                    throw .damaged("\(what()): table \(name) (id \(id)) is created twice")
                }
                tables[id] = TableState(id: id, name: name, schema: schema)
                tableIDs[ByteString(name)] = id
            case .addSymbol(let table, let id, let name):
                guard tables[table] != nil else { throw .damaged("\(what()): symbol \(name) names unknown table id \(table)") }
                if Int(id) != tables[table]!.symbols.count || tables[table]!.symbolIDs[ByteString(name)] != nil {
                    throw .damaged("\(what()): symbol \(name) has out-of-order or duplicate id \(id)")
                }
                tables[table]!.symbols.append(SymbolState(name: name))
                tables[table]!.symbolIDs[ByteString(name)] = id
            case .addFile(let id, let table):
                guard tables[table] != nil, files[id] == nil else {
                    throw .damaged("\(what()): file id \(id) is added twice or names unknown table id \(table)")
                }
                files[id] = FileState(id: id, table: table, length: 0)
                tables[table]!.files.append(id)
            case .addBlock(let table, let symbol, let ref):
                guard let t = tables[table], Int(symbol) < t.symbols.count else {
                    throw .damaged("\(what()): block names unknown table id \(table) or symbol id \(symbol)")
                }
                guard let f = files[ref.file], f.table == table else {
                    throw .damaged("\(what()): block names file id \(ref.file), which is not a file of table \(t.name)")
                }
                let previous = t.symbols[Int(symbol)].blocks.last
                if ref.rows == 0 || ref.rows > UInt32(Limits.blockRowsMax) || ref.firstTime > ref.lastTime
                    || (previous.map { ref.firstTime < $0.lastTime } ?? false)
                {
                    throw .damaged("\(what()): block of \(t.symbols[Int(symbol)].name) in \(t.name) is out of time order or has \(ref.rows) rows")
                }
                tables[table]!.symbols[Int(symbol)].blocks.append(ref)
                tables[table]!.symbols[Int(symbol)].rows += Int(ref.rows)
            case .fileLength(let file, let length):
                guard files[file] != nil else { throw .damaged("\(what()): length given for unknown file id \(file)") }
                files[file]!.length = length
            }
        }
        try checkBlocksInsideFiles(entries, what: what)
    }

    private func checkBlocksInsideFiles(_ entries: [ManifestEntry], what: () -> String) throws(StrataError) {
        for case .addBlock(_, _, let ref) in entries {
            let end = ref.offset + UInt64(ref.length)
            if end > files[ref.file]!.length {
                throw .damaged("\(what()): block at \(ref.offset)+\(ref.length) lies past the committed length of \(Catalog.dataFileName(ref.file))")
            }
        }
    }
}
