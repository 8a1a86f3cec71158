/// Rows of one symbol collected until they fill a block.
final class SymbolBuffer {
    /// Where the buffered rows go in the symbol's block index.
    enum Placement {
        /// Sorted, and all in the gap before block `index` (its first time is `before`; nil past
        /// the last block): sealed into blocks inserted there as they fill up.
        case gap(index: Int, before: Int64?)
        /// They overlap blocks (late or out-of-order rows, or a key already written): merged with
        /// the blocks they overlap when the transaction commits or memory runs short.
        case merge
    }

    let id: UInt32
    let name: String
    /// Nil while the buffer is empty and no block of it is in flight: decided by the next row.
    var placement: Placement?
    /// The latest time appended since the placement was decided.
    var lastTime: Int64?
    // Unchecked exclusivity: a buffer belongs to one transaction, used by one thread at a time, and
    // the dynamic check on every appended value cost more than the append (out-of-order rows come
    // one at a time).
    @exclusivity(unchecked) var times: [Int64] = []
    @exclusivity(unchecked) var columns: [ColumnBuffer]

    init(id: UInt32, name: String, types: [ColumnType]) {
        self.id = id
        self.name = name
        self.columns = types.map(ColumnBuffer.init(type:))
    }

    var isMerging: Bool { if case .merge = placement { true } else { false } }
}

/// The write side of one table within a transaction.
final class TableBuffers {
    let id: UInt32
    let name: String
    let schema: Schema
    let types: [ColumnType]
    let ids: [UInt32]
    var symbols: [SymbolBuffer?] = []

    init(id: UInt32, name: String, schema: Schema) {
        self.id = id
        self.name = name
        self.schema = schema
        self.types = schema.columns.map(\.type)
        self.ids = schema.columns.map(\.id)
    }

    /// Empty buffers for this table's value columns.
    var emptyColumns: [ColumnBuffer] { types.map(ColumnBuffer.init(type:)) }
}

/// A write transaction: create and drop tables, append rows in any time order, delete rows;
/// everything becomes visible and durable together when `Database.write` commits it, or is thrown away.
///
/// Rows of a symbol may arrive in any order. Rows that fall after, before or between a symbol's
/// blocks are sealed into new blocks in that gap as they arrive; rows that overlap existing blocks
/// are merged with just those blocks at commit (in a table with `Schema.dedup`, a row replaces the
/// rows with its key). A read after the commit sees each symbol's rows in time order; rows with
/// equal times keep the order they were written in.
///
/// A transaction lives only inside its `write` closure. Kept and used after the closure returned
/// or threw, every call throws a `.misuse` error and writes nothing.
public final class Transaction {
    let writer: Writer
    var catalog: Catalog
    let blockRows: Int
    private var entries: [ManifestEntry] = []
    var tables: [UInt32: TableBuffers] = [:]
    var bufferedRows = 0
    private var newFiles: [UInt32] = []
    private var committedLengths: [UInt32: UInt64] = [:]
    private var touched: Set<UInt32> = []
    /// Emptied buffers for reuse, by table.
    var pool: [UInt32: [([Int64], [ColumnBuffer])]] = [:]
    /// Encodes the blocks of deletes, which are written before the transaction goes on.
    var encoder = BlockEncoder()
    /// Merges whose blocks the sealer is encoding: recorded by `finishMerges` once all are written.
    var pendingMerges: [(table: UInt32, symbol: UInt32, at: Int, removing: Int, id: Int)] = []
    var mergeOutputs: [Int: [BlockRef]] = [:]
    var nextMergeID = 0
    /// Set when the `write` closure has returned or thrown.
    private var finished = false

    init(writer: Writer, catalog: Catalog, blockRows: Int) {
        self.writer = writer
        self.catalog = catalog
        self.blockRows = blockRows
    }

    /// Ends the transaction's life: from now on every call is refused.
    func finish() { finished = true }

    func checkLive(_ what: String) throws(StrataError) {
        if finished {
            throw .misuse("Transaction.\(what) was called after its db.write closure returned; a transaction is usable only inside that closure (nothing was written)")
        }
    }

    // MARK: Public API

    /// The schema of a table, committed or created in this transaction.
    public func schema(of table: String) throws(StrataError) -> Schema? {
        try checkLive("schema(of:)")
        return catalog.tableID(table).flatMap { catalog.tables[$0]?.schema }
    }

    /// Creates table `name` with `schema`; refused when the name is taken or breaks the name rules.
    public func createTable(_ name: String, schema: Schema) throws(StrataError) {
        try checkLive("createTable")
        try Schema.validateTableName(name)
        try schema.validate()
        if catalog.tableID(name) != nil { throw .badInput("table \(name) already exists") }
        if catalog.tables.count >= Limits.tablesMax { throw .badInput("a database holds at most \(Limits.tablesMax) tables") }
        let id = catalog.nextTableID
        try record(.createTable(id: id, name: name, schema: schema))
        if schema.dedup { try record(.tableKey(table: id)) }
    }

    /// Appends one row. `values` follow the schema's value columns; `.null` fits any column.
    public func append(to table: String, symbol: String, time: Int64, values: [Value]) throws(StrataError) {
        try checkLive("append(to:symbol:time:values:)")
        let t = try tableBuffers(table)
        if values.count != t.types.count {
            throw .badInput("table \(table) has \(t.types.count) value columns, the row has \(values.count)")
        }
        for (i, v) in values.enumerated() {
            if !v.fits(t.types[i]) { throw .badInput("column \(t.schema.columns[i].name) of \(table) is \(t.types[i]), the row has \(v)") }
            if case .string(let s) = v { try Self.checkText(s, column: t.schema.columns[i].name) }
        }
        try appendRow(t, try symbolBuffer(t, symbol), time: time, values: values)
    }

    /// Appends a batch of rows of one symbol: `times` and one array per value column, all the same length.
    public func append(to table: String, symbol: String, times: [Int64], columns: [ColumnValues]) throws(StrataError) {
        try checkLive("append(to:symbol:times:columns:)")
        let t = try tableBuffers(table)
        if columns.count != t.types.count {
            throw .badInput("table \(table) has \(t.types.count) value columns, the batch has \(columns.count)")
        }
        for (i, c) in columns.enumerated() {
            if c.count != times.count {
                throw .badInput("column \(t.schema.columns[i].name) has \(c.count) values for \(times.count) times")
            }
            if !c.fits(t.types[i]) { throw .badInput("column \(t.schema.columns[i].name) of \(table) is \(t.types[i]), the batch is not") }
            if case .string(let v) = c { for s in v { if let s { try Self.checkText(s, column: t.schema.columns[i].name) } } }
        }
        try appendRows(t, try symbolBuffer(t, symbol), times: times, columns: columns.map(\.buffer), rows: 0..<times.count)
    }

    static func checkText(_ s: String, column: String) throws(StrataError) {
        if s.utf8.count > Limits.textBytesMax {
            throw .badInput("a value of column \(column) has \(s.utf8.count) bytes; text values hold at most \(Limits.textBytesMax)")
        }
    }

    // MARK: Fast path for importers

    func tableBuffers(_ name: String) throws(StrataError) -> TableBuffers {
        try checkLive("append")
        guard let id = catalog.tableID(name), let state = catalog.tables[id] else {
            throw .badInput("no table named \(name)")
        }
        if let t = tables[id] { return t }
        let t = TableBuffers(id: id, name: name, schema: state.schema)
        tables[id] = t
        return t
    }

    func symbolBuffer(_ t: TableBuffers, _ symbol: String) throws(StrataError) -> SymbolBuffer {
        var id = catalog.tables[t.id]!.symbolID(symbol)
        if id == nil {
            try Schema.validateSymbol(symbol)
            let newID = UInt32(catalog.tables[t.id]!.symbols.count)
            if Int(newID) >= Limits.symbolsPerTableMax {
                throw .badInput("table \(t.name) already holds \(Limits.symbolsPerTableMax) symbols")
            }
            try record(.addSymbol(table: t.id, id: newID, name: symbol))
            id = newID
        }
        let index = Int(id!)
        while t.symbols.count <= index { t.symbols.append(nil) }
        if let b = t.symbols[index] { return b }
        let b = SymbolBuffer(id: id!, name: symbol, types: t.types)
        t.symbols[index] = b
        return b
    }

    /// Appends one row (its values checked against the columns' types).
    @inline(__always)
    func appendRow(_ t: TableBuffers, _ b: SymbolBuffer, time: Int64, values: [Value]) throws(StrataError) {
        place(t, b, first: time, last: time, sorted: true)
        if b.times.capacity == 0 { prepare(t, b) }
        b.times.append(time)
        for c in 0..<values.count { b.columns[c].append(values[c]) }
        bufferedRows += 1
        if b.times.count >= blockRows || bufferedRows > Limits.bufferedRowsMax { try afterAppend(t, b) }
    }

    /// Appends `rows` of a batch (`times` and one buffer per value column) to one symbol.
    func appendRows(
        _ t: TableBuffers, _ b: SymbolBuffer, times: [Int64], columns: [ColumnBuffer], rows: Range<Int>
    ) throws(StrataError) {
        if rows.isEmpty { return }
        if rows.count == 1 {  // rows in random order come one at a time: no slices
            let r = rows.lowerBound
            place(t, b, first: times[r], last: times[r], sorted: true)
            if b.times.capacity == 0 { prepare(t, b) }
            b.times.append(times[r])
            for c in 0..<t.types.count { b.columns[c].append(from: columns[c], row: r) }
            bufferedRows += 1
            if b.times.count >= blockRows || bufferedRows > Limits.bufferedRowsMax { try afterAppend(t, b) }
            return
        }
        var sorted = true, last = times[rows.lowerBound]
        for r in rows.dropFirst() {
            let time = times[r]
            if time < last { sorted = false }
            last = max(last, time)
        }
        place(t, b, first: times[rows.lowerBound], last: last, sorted: sorted)
        var r = rows.lowerBound
        while r < rows.upperBound {
            prepare(t, b)
            let n = b.isMerging ? rows.upperBound - r : min(max(1, blockRows - b.times.count), rows.upperBound - r)
            b.times.append(contentsOf: times[r..<r + n])
            for c in 0..<t.types.count { b.columns[c].append(contentsOf: columns[c], r..<r + n) }
            bufferedRows += n
            r += n
            try afterAppend(t, b)
        }
    }

    /// Decides or checks where rows with times `first ... last` (in this order when `sorted`) go:
    /// they stay in the buffer's gap while they keep it sorted and stay before the next block;
    /// anything else turns the buffer into a merge.
    @inline(__always)
    private func place(_ t: TableBuffers, _ b: SymbolBuffer, first: Int64, last: Int64, sorted: Bool) {
        if b.placement == nil { b.placement = gapPlacement(t, b, time: first) }
        guard case .gap(_, let before) = b.placement else { return }
        if !sorted || (b.lastTime.map { first < $0 } ?? false) || (before.map { last >= $0 } ?? false) {
            b.placement = .merge
            return
        }
        b.lastTime = last
    }

    /// The gap of the symbol's blocks that a row at `time` falls in, or `.merge` when it falls inside
    /// a block (or, in a table with a key, on a block's time).
    private func gapPlacement(_ t: TableBuffers, _ b: SymbolBuffer, time: Int64) -> SymbolBuffer.Placement {
        let blocks = catalog.tables[t.id]!.symbols[Int(b.id)].blocks
        // Rows with equal times stay in the order written: a row at a block's last time goes after
        // it, unless the table's key makes it replace that block's row.
        let k = t.schema.dedup
            ? partitionPoint(in: 0..<blocks.count) { blocks[$0].lastTime >= time }
            : partitionPoint(in: 0..<blocks.count) { blocks[$0].lastTime > time }
        if k < blocks.count && blocks[k].firstTime <= time { return .merge }
        b.lastTime = nil
        return .gap(index: k, before: k < blocks.count ? blocks[k].firstTime : nil)
    }

    private func prepare(_ t: TableBuffers, _ b: SymbolBuffer) {
        if b.times.capacity > 0 { return }
        if let (times, columns) = pool[t.id]?.popLast() {
            b.times = times
            b.columns = columns
        } else {
            b.times.reserveCapacity(blockRows)
            for c in t.types.indices { b.columns[c].reserveCapacity(blockRows, type: t.types[c]) }
        }
    }

    private func afterAppend(_ t: TableBuffers, _ b: SymbolBuffer) throws(StrataError) {
        if !b.isMerging && b.times.count >= blockRows { try seal(t, b, final: false) }
        if bufferedRows > Limits.bufferedRowsMax { try sealLargest() }
    }

    /// Keeps memory bounded when many symbols are interleaved: seals (or merges) the fullest buffers early.
    private func sealLargest() throws(StrataError) {
        var all: [(TableBuffers, SymbolBuffer)] = []
        for t in tables.values { for case let b? in t.symbols where !b.times.isEmpty { all.append((t, b)) } }
        all.sort { $0.1.times.count > $1.1.times.count }
        for (t, b) in all {
            if bufferedRows <= Limits.bufferedRowsMax / 2 { break }
            try flush(t, b)
        }
    }

    /// Writes everything buffered for one symbol into its block index: the rest of a gap's rows as a
    /// block, or the merge. Afterwards the symbol's index is complete (no block of it in flight),
    /// unless `deferMerge` leaves a merge's recording to a later `finishMerges`.
    func flush(_ t: TableBuffers, _ b: SymbolBuffer, deferMerge: Bool = false) throws(StrataError) {
        if b.isMerging {
            try merge(t, b)
            if !deferMerge { try finishMerges() }
        } else {
            try seal(t, b, final: true)
            try write(writer.sealer.finishAll())
        }
        b.placement = nil
        b.lastTime = nil
    }

    // MARK: Sealing blocks

    /// Hands the buffered rows of a symbol in gap placement to the sealer, for a block inserted in
    /// the gap, and writes the blocks that are ready. In a table with a key, rows with equal times
    /// collapse to the last one written, and unless `final`, the row at the latest time stays
    /// buffered (a later row may replace it).
    private func seal(_ t: TableBuffers, _ b: SymbolBuffer, final: Bool) throws(StrataError) {
        guard case .gap(let index, let before) = b.placement, !b.times.isEmpty else { return }
        var times = b.times, columns = b.columns
        var kept: ([Int64], [ColumnBuffer])? = nil
        if t.schema.dedup {
            Self.keepLastOfEqualTimes(&times, &columns)
            if !final {
                kept = ([times.removeLast()], columns.indices.map { columns[$0].removeLast() })
            }
        }
        let rows = b.times.count
        b.times = []
        b.columns = t.emptyColumns
        bufferedRows -= rows
        if let (keptTimes, keptColumns) = kept {
            b.times = keptTimes
            b.columns = keptColumns
            bufferedRows += keptTimes.count
        }
        if times.isEmpty { return }
        b.placement = .gap(index: index + 1, before: before)
        let job = BlockSealer.Job(
            table: t.id, symbol: b.id, destination: .insert(at: index), times: times, columns: columns, ids: t.ids, types: t.types)
        writer.sealer.submit(job)
        try write(writer.sealer.takeFinished())
    }

    /// In sorted rows, keeps only the last row of each run of equal times.
    static func keepLastOfEqualTimes(_ times: inout [Int64], _ columns: inout [ColumnBuffer]) {
        guard times.count > 1, times.indices.dropFirst().contains(where: { times[$0] == times[$0 - 1] }) else { return }
        let keep = times.indices.filter { $0 == times.count - 1 || times[$0] != times[$0 + 1] }
        times = keep.map { times[$0] }
        for c in columns.indices { columns[c] = columns[c].gather(keep) }
    }

    /// Appends sealed blocks to the table's data file, in the order they were sealed.
    func write(_ sealed: [BlockSealer.Sealed]) throws(StrataError) {
        for s in sealed {
            let ref = try writeBlock(s.bytes, table: s.job.table, times: s.job.times)
            switch s.job.destination {
            case .insert(let at): try insert(ref, table: s.job.table, symbol: s.job.symbol, at: at)
            case .merge(let id): mergeOutputs[id, default: []].append(ref)
            }
            let table = s.job.table
            if tables[table]?.ids == s.job.ids, pool[table, default: []].count < BlockSealer.inFlightMax + 4 {
                var times = s.job.times, columns = s.job.columns
                times.removeAll(keepingCapacity: true)
                for c in columns.indices { columns[c].removeAll(keepingCapacity: true) }
                pool[table, default: []].append((times, columns))
            }
        }
    }

    /// Appends an encoded block to the table's data file; returns its reference.
    func writeBlock(_ bytes: [UInt8], table: UInt32, times: [Int64]) throws(StrataError) -> BlockRef {
        let file = try fileForAppend(table, bytes: bytes.count)
        let offset = catalog.files[file]!.length
        let h = try writer.handle(for: file, create: false)
        try bytes.withBytes { (raw) throws(StrataError) in try writer.fs.write(h, raw, at: offset) }
        catalog.files[file]!.length = offset + UInt64(bytes.count)
        return BlockRef(
            file: file, offset: offset, length: UInt32(bytes.count), rows: UInt32(times.count),
            firstTime: times.first!, lastTime: times.last!)
    }

    /// Records a new block at position `at` of a symbol's index: appended (the version 1 entry) or
    /// inserted before the blocks after it.
    private func insert(_ ref: BlockRef, table: UInt32, symbol: UInt32, at: Int) throws(StrataError) {
        guard let t = catalog.tables[table] else { return }  // dropped since it was sealed
        if at == t.symbols[Int(symbol)].blocks.count {
            try record(.addBlock(table: table, symbol: symbol, ref: ref))
        } else {
            try record(.replaceBlocks(table: table, symbol: symbol, at: UInt32(at), removing: 0, refs: [ref]))
        }
    }

    /// The data file the next block of `table` goes to: the table's last file while it is below the
    /// target size, else a new one.
    private func fileForAppend(_ table: UInt32, bytes: Int) throws(StrataError) -> UInt32 {
        if let last = catalog.tables[table]!.files.last, !writer.closedForAppend.contains(last),
            catalog.files[last]!.length + UInt64(bytes) <= Limits.dataFileBytesTarget
                || catalog.files[last]!.length == UInt64(DataFileFormat.headerBytes)
        {
            if !touched.contains(last) {
                touched.insert(last)
                if !newFiles.contains(last) { committedLengths[last] = catalog.files[last]!.length }
            }
            return last
        }
        let id = writer.newFileID(catalog)
        let h = try writer.handle(for: id, create: true)
        newFiles.append(id)
        touched.insert(id)
        try record(.addFile(id: id, table: table))
        let header = DataFileFormat.header(fileID: id, tableID: table)
        try header.withBytes { (raw) throws(StrataError) in try writer.fs.write(h, raw, at: 0) }
        catalog.files[id]!.length = UInt64(header.count)
        return id
    }

    func record(_ entry: ManifestEntry) throws(StrataError) {
        entries.append(entry)
        try catalog.apply([entry], what: { "transaction" })
    }

    // MARK: Commit and rollback

    /// Seals what is buffered, makes the data durable, then appends and syncs the commit record.
    /// The entries of the record `commit` wrote (for the commit feed).
    var committedEntries: [ManifestEntry] { entries }

    func commit() throws(StrataError) -> Catalog {
        for t in tables.values.sorted(by: { $0.id < $1.id }) {
            for case let b? in t.symbols where !b.times.isEmpty { try flush(t, b, deferMerge: true) }
        }
        try finishMerges()
        if entries.isEmpty { return catalog }
        let fs = writer.fs
        let live = touched.sorted().filter { catalog.files[$0] != nil }  // a dropped table's files need no length
        for file in live { try fs.sync(try writer.handle(for: file, create: false)) }
        if !newFiles.isEmpty { try fs.syncDirectory(writer.directory) }
        for file in live { entries.append(.fileLength(file: file, length: catalog.files[file]!.length)) }
        try writer.appendRecord(sequence: catalog.sequence + 1, entries: entries)
        catalog.sequence += 1
        // Files this transaction made for a table it then dropped: no snapshot ever saw them.
        for file in newFiles where catalog.files[file] == nil {
            writer.forget(file)
            try? fs.remove(writer.directory + "/" + Catalog.dataFileName(file))
        }
        return catalog
    }

    /// Throws away everything this transaction wrote: uncommitted file tails and new files.
    /// Best effort: bytes past a committed length are ignored by readers and cut off at the next open anyway.
    func rollback() {
        _ = writer.sealer.finishAll()
        let fs = writer.fs
        for file in newFiles {
            writer.forget(file)
            try? fs.remove(writer.directory + "/" + Catalog.dataFileName(file))
        }
        for (file, length) in committedLengths {
            if let h = try? writer.handle(for: file, create: false) { try? fs.truncate(h, to: length) }
        }
        try? fs.truncate(writer.manifest, to: writer.manifestLength)
    }
}
