/// What is committed, as a value: tables, their symbols and each symbol's block index.
/// Built by replaying the manifest; copied cheaply (copy-on-write) into every snapshot.
struct Catalog: Sendable {
    struct SymbolState: Sendable {
        var name: String
        /// In time order: each block starts at or after the previous block's last time.
        var blocks = BlockList()
        var rows: Int = 0

        mutating func replaceBlocks(_ range: Range<Int>, with refs: [BlockRef], rows change: Int) {
            blocks.replaceSubrange(range, with: refs)
            rows += change
        }
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

        /// Adds a symbol; `upcoming` is how many more a record adds to this table right after it
        /// (room is made for them all when the index is full: a checkpoint adds every symbol at once).
        mutating func addSymbol(_ name: String, id: UInt32, upcoming: () -> Int, what: () -> String) throws(StrataError) {
            let key = ByteString(name)
            func bad() -> StrataError { .damaged("\(what()): symbol \(name) has out-of-order or duplicate id \(id)") }
            if Int(id) != symbols.count { throw bad() }
            if symbolIDs.count == symbolIDs.capacity {
                let more = upcoming()
                if more > 0 {
                    symbolIDs.reserveCapacity(symbolIDs.count + 1 + more)
                    symbols.reserveCapacity(symbols.count + 1 + more)
                }
            }
            // One lookup: the name is hashed once (a second cost as much again when opening).
            if let old = symbolIDs.updateValue(id, forKey: key) {
                symbolIDs[key] = old
                throw bad()
            }
            symbols.append(SymbolState(name: name))
        }

        /// Appends a block to a symbol's index. Called through `tables.values[index]`, so the table
        /// is edited in place: a copy of this value held across the edit would copy every symbol's
        /// state, and the dictionary's optional subscript costs hundreds of instructions a call.
        mutating func addBlock(_ ref: BlockRef, symbol: UInt32, what: () -> String) throws(StrataError) {
            guard Int(symbol) < symbols.count else {
                throw .damaged("\(what()): block names unknown table id \(id) or symbol id \(symbol)")
            }
            let previous = symbols[Int(symbol)].blocks.last
            if !Self.isValid(ref) || (previous.map { ref.firstTime < $0.lastTime } ?? false) {
                throw .damaged("\(what()): block of \(symbols[Int(symbol)].name) in \(name) is out of time order or has \(ref.rows) rows")
            }
            symbols[Int(symbol)].blocks.append(ref)
            symbols[Int(symbol)].rows += Int(ref.rows)
        }

        /// Replaces blocks `at ..< at + removing` of a symbol with `refs` (files checked by the caller).
        mutating func replaceBlocks(
            _ symbol: UInt32, at: Int, removing: Int, _ refs: [BlockRef], what: () -> String
        ) throws(StrataError) {
            guard Int(symbol) < symbols.count else {
                throw .damaged("\(what()): replacement names unknown table id \(id) or symbol id \(symbol)")
            }
            let s = Int(symbol), count = symbols[s].blocks.count
            guard at >= 0, removing >= 0, at + removing <= count else {
                throw .damaged("\(what()): replacement of blocks \(at)..<\(at + removing) of \(symbols[s].name) in \(name), which has \(count)")
            }
            var previous = at > 0 ? symbols[s].blocks[at - 1].lastTime : Int64.min
            let next = at + removing < count ? symbols[s].blocks[at + removing].firstTime : Int64.max
            for ref in refs {
                if !Self.isValid(ref) || ref.firstTime < previous {
                    throw .damaged("\(what()): block of \(symbols[s].name) in \(name) is out of time order or has \(ref.rows) rows")
                }
                previous = ref.lastTime
            }
            if next < previous {
                throw .damaged("\(what()): replacement blocks of \(symbols[s].name) in \(name) overlap the block after them")
            }
            var removedRows = 0
            for i in at..<at + removing { removedRows += Int(symbols[s].blocks[i].rows) }
            let addedRows = refs.reduce(0) { $0 + Int($1.rows) }
            symbols[s].replaceBlocks(at..<at + removing, with: refs, rows: addedRows - removedRows)
        }

        private static func isValid(_ ref: BlockRef) -> Bool {
            ref.rows > 0 && ref.rows <= UInt32(Limits.blockRowsMax) && ref.firstTime <= ref.lastTime
        }
    }

    struct FileState: Sendable {
        var id: UInt32
        var table: UInt32
        var length: UInt64
    }

    var tables: [UInt32: TableState] = [:]
    /// Ids below these were used by tables and files, dropped or replaced ones included: they are not
    /// given again, so a file name never refers to two files while a snapshot may still map the old one.
    var tableIDFloor: UInt32 = 1
    var fileIDFloor: UInt32 = 1
    var tableIDs: [ByteString: UInt32] = [:]
    var files: [UInt32: FileState] = [:]
    var sequence: UInt64 = 0

    /// The id of a table, matched by the bytes of its name.
    func tableID(_ name: String) -> UInt32? { tableIDs[ByteString(name)] }

    var nextTableID: UInt32 { max((tables.keys.max() ?? 0) + 1, tableIDFloor) }
    var nextFileID: UInt32 { max((files.keys.max() ?? 0) + 1, fileIDFloor) }

    static func dataFileName(_ id: UInt32) -> String {
        let digits = String(id)
        return "d" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".sdf"
    }

    /// Applies one commit record's entries, checking every reference; damage is reported, never trusted.
    mutating func apply(_ entries: [ManifestEntry], what: () -> String) throws(StrataError) {
        var checked: CheckedBlockPlace? = nil
        for (position, entry) in entries.enumerated() {
            switch entry {
            case .addBlock, .fileLength: break
            default: checked = nil  // the entry may change tables or files
            }
            switch entry {
            case .createTable(let id, let name, let schema):
                if tables[id] != nil || tableIDs[ByteString(name)] != nil {
                    throw .damaged("\(what()): table \(name) (id \(id)) is created twice")
                }
                tables[id] = TableState(id: id, name: name, schema: schema)
                tableIDs[ByteString(name)] = id
                tableIDFloor = max(tableIDFloor, id &+ 1)
            case .addSymbol(let table, let id, let name):
                guard let t = tables.index(forKey: table) else { throw .damaged("\(what()): symbol \(name) names unknown table id \(table)") }
                try tables.values[t].addSymbol(name, id: id, upcoming: { Self.symbolsAdded(to: table, in: entries[(position + 1)...]) }, what: what)
            case .addFile(let id, let table):
                guard tables[table] != nil, files[id] == nil else {
                    throw .damaged("\(what()): file id \(id) is added twice or names unknown table id \(table)")
                }
                files[id] = FileState(id: id, table: table, length: 0)
                tables[table]!.files.append(id)
                fileIDFloor = max(fileIDFloor, id &+ 1)
            case .addBlock(let table, let symbol, let ref):
                try addBlock(ref, table: table, symbol: symbol, checked: &checked, what: what)
            case .fileLength(let file, let length):
                guard files[file] != nil else { throw .damaged("\(what()): length given for unknown file id \(file)") }
                files[file]!.length = length
            case .replaceBlocks(let table, let symbol, let at, let removing, let refs):
                try replaceBlocks(table, symbol, at: Int(at), removing: Int(removing), refs, what: what)
            case .tableKey(let table):
                guard tables[table] != nil else { throw .damaged("\(what()): key given for unknown table id \(table)") }
                tables[table]!.schema.dedup = true
            case .dropTable(let table):
                guard let t = tables.removeValue(forKey: table) else { throw .damaged("\(what()): unknown table id \(table) dropped") }
                tableIDs[ByteString(t.name)] = nil
                for f in t.files { files[f] = nil }
            case .idFloor(let table, let file):
                tableIDFloor = max(tableIDFloor, table)
                fileIDFloor = max(fileIDFloor, file)
            case .columns(let table, let schema):
                try setColumns(table, schema, what: what)
            }
        }
        try checkBlocksInsideFiles(entries, what: what)
    }

    /// How many symbols `entries` add to `table` in a row from their start.
    private static func symbolsAdded(to table: UInt32, in entries: ArraySlice<ManifestEntry>) -> Int {
        var n = 0
        for entry in entries {
            guard case .addSymbol(let t, _, _) = entry, t == table else { break }
            n += 1
        }
        return n
    }

    /// The table and file of the last block a record added, both checked: a record adds most of
    /// its blocks to one table and file, which need not be looked up again.
    private struct CheckedBlockPlace {
        var table: UInt32
        var index: Dictionary<UInt32, TableState>.Index
        var file: UInt32
    }

    private mutating func addBlock(
        _ ref: BlockRef, table: UInt32, symbol: UInt32, checked: inout CheckedBlockPlace?, what: () -> String
    ) throws(StrataError) {
        if checked?.table != table || checked?.file != ref.file {
            guard let t = tables.index(forKey: table) else {
                throw .damaged("\(what()): block names unknown table id \(table) or symbol id \(symbol)")
            }
            try checkFile(of: ref, table: table, what: what)
            checked = CheckedBlockPlace(table: table, index: t, file: ref.file)
        }
        try tables.values[checked!.index].addBlock(ref, symbol: symbol, what: what)
    }

    /// Replaces blocks `at ..< at + removing` of a symbol with `refs`, checking that every new block
    /// is in a file of the table and that the symbol's blocks stay in time order.
    private mutating func replaceBlocks(
        _ table: UInt32, _ symbol: UInt32, at: Int, removing: Int, _ refs: [BlockRef], what: () -> String
    ) throws(StrataError) {
        guard let t = tables.index(forKey: table) else {
            throw .damaged("\(what()): replacement names unknown table id \(table) or symbol id \(symbol)")
        }
        for ref in refs { try checkFile(of: ref, table: table, what: what) }
        try tables.values[t].replaceBlocks(symbol, at: at, removing: removing, refs, what: what)
    }

    /// Checks that a block's file belongs to its table.
    private func checkFile(of ref: BlockRef, table: UInt32, what: () -> String) throws(StrataError) {
        guard let f = files[ref.file], f.table == table else {
            let name = tables[table]?.name ?? "id \(table)"
            throw .damaged("\(what()): block names file id \(ref.file), which is not a file of table \(name)")
        }
    }

    /// Takes a table's new columns (its unit and key stay). The entry was checked when read (ids
    /// unique, ascending, below the next id); here the next id may not go down. (A checkpoint states
    /// a table's columns this way right after creating it, so an id may meet another type here.)
    private mutating func setColumns(_ table: UInt32, _ schema: Schema, what: () -> String) throws(StrataError) {
        guard let old = tables[table]?.schema else { throw .damaged("\(what()): columns given for unknown table id \(table)") }
        if schema.nextColumnID < old.nextColumnID { throw .damaged("\(what()): the next column id of table id \(table) goes down") }
        var new = old
        new.symbolColumn = schema.symbolColumn
        new.timeColumn = schema.timeColumn
        new.symbolPosition = schema.symbolPosition
        new.timePosition = schema.timePosition
        new.columns = schema.columns
        new.nextColumnID = schema.nextColumnID
        tables[table]!.schema = new
    }

    private func checkBlocksInsideFiles(_ entries: [ManifestEntry], what: () -> String) throws(StrataError) {
        var last: FileState? = nil  // blocks of a record are mostly in one file: look it up once
        func check(_ ref: BlockRef) throws(StrataError) {
            if last?.id != ref.file { last = files[ref.file] }
            // A later entry of the record may have dropped the table and its files.
            guard let file = last, file.id == ref.file else { return }
            if ref.offset + UInt64(ref.length) > file.length {
                throw .damaged("\(what()): block at \(ref.offset)+\(ref.length) lies past the committed length of \(Catalog.dataFileName(ref.file))")
            }
        }
        for entry in entries {
            switch entry {
            case .addBlock(_, _, let ref): try check(ref)
            case .replaceBlocks(_, _, _, _, let refs): for ref in refs { try check(ref) }
            default: continue
            }
        }
    }
}
