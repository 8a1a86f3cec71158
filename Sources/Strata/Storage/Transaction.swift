/// One value of a row, for the simple row API.
public enum Value: Sendable, Equatable {
    case int64(Int64)
    case float64(Double)

    var bits: Int64 {
        switch self {
        case .int64(let v): v
        case .float64(let d): Int64(bitPattern: d.bitPattern)
        }
    }
}

/// One column of a batch, for the columnar append API.
public enum ColumnValues: Sendable {
    case int64([Int64])
    case float64([Double])

    var count: Int {
        switch self {
        case .int64(let v): v.count
        case .float64(let v): v.count
        }
    }
}

/// Rows of one symbol collected until they fill a block.
final class SymbolBuffer {
    let id: UInt32
    let name: String
    /// The latest time appended to this symbol, committed or not.
    var lastTime: Int64?
    var times: [Int64] = []
    /// Value columns; Float64 as bit patterns.
    var columns: [[Int64]]

    init(id: UInt32, name: String, lastTime: Int64?, columnCount: Int) {
        self.id = id
        self.name = name
        self.lastTime = lastTime
        self.columns = Array(repeating: [], count: columnCount)
    }
}

/// The write side of one table within a transaction.
final class TableBuffers {
    let id: UInt32
    let name: String
    let schema: Schema
    let types: [ColumnType]
    var symbols: [SymbolBuffer?] = []

    init(id: UInt32, name: String, schema: Schema) {
        self.id = id
        self.name = name
        self.schema = schema
        self.types = schema.columns.map(\.type)
    }
}

/// A write transaction: create tables and append rows; everything becomes visible and durable
/// together when `Database.write` commits it, or is thrown away.
///
/// A transaction lives only inside its `write` closure. Kept and used after the closure returned
/// or threw, every call throws a `.misuse` error and writes nothing.
public final class Transaction {
    private let writer: Writer
    private var catalog: Catalog
    private let blockRows: Int
    private var entries: [ManifestEntry] = []
    private var tables: [UInt32: TableBuffers] = [:]
    private var bufferedRows = 0
    private var newFiles: [UInt32] = []
    private var committedLengths: [UInt32: UInt64] = [:]
    private var touched: Set<UInt32> = []
    /// Emptied buffers for reuse, by column count.
    private var pool: [Int: [([Int64], [[Int64]])]] = [:]
    /// Set when the `write` closure has returned or thrown.
    private var finished = false

    init(writer: Writer, catalog: Catalog, blockRows: Int) {
        self.writer = writer
        self.catalog = catalog
        self.blockRows = blockRows
    }

    /// Ends the transaction's life: from now on every call is refused.
    func finish() { finished = true }

    private func checkLive(_ what: String) throws(StrataError) {
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

    public func createTable(_ name: String, schema: Schema) throws(StrataError) {
        try checkLive("createTable")
        try Schema.validateTableName(name)
        try schema.validate()
        if catalog.tableID(name) != nil { throw .badInput("table \(name) already exists") }
        if catalog.tables.count >= Limits.tablesMax { throw .badInput("a database holds at most \(Limits.tablesMax) tables") }
        try record(.createTable(id: catalog.nextTableID, name: name, schema: schema))
    }

    /// Appends one row. `values` follow the schema's value columns.
    public func append(to table: String, symbol: String, time: Int64, values: [Value]) throws(StrataError) {
        try checkLive("append(to:symbol:time:values:)")
        let t = try tableBuffers(table)
        if values.count != t.types.count {
            throw .badInput("table \(table) has \(t.types.count) value columns, the row has \(values.count)")
        }
        for (i, v) in values.enumerated() {
            switch (v, t.types[i]) {
            case (.int64, .int64), (.float64, .float64): break
            default: throw .badInput("column \(t.schema.columns[i].name) of \(table) is \(t.types[i]), the row has \(v)")
            }
        }
        let bits = values.map(\.bits)
        try appendRow(t, try symbolBuffer(t, symbol), time: time, values: bits)
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
            switch (c, t.types[i]) {
            case (.int64, .int64), (.float64, .float64): break
            default: throw .badInput("column \(t.schema.columns[i].name) of \(table) is \(t.types[i]), the batch is not")
            }
        }
        // One column-major copy, Float64 as bit patterns, appended through the importers' path.
        var flat: [Int64] = []
        flat.reserveCapacity(times.count * columns.count)
        for column in columns {
            switch column {
            case .int64(let v): flat.append(contentsOf: v)
            case .float64(let v): flat.append(contentsOf: v.lazy.map { Int64(bitPattern: $0.bitPattern) })
            }
        }
        let buffer = try symbolBuffer(t, symbol)
        if let bad = try appendRows(t, buffer, times: times, columns: flat, stride: times.count, rows: 0..<times.count) {
            throw timeWentBack(t, buffer, time: times[bad.row], after: bad.after, row: bad.row)
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
        let last = catalog.tables[t.id]!.symbols[index].blocks.last?.lastTime
        let b = SymbolBuffer(id: id!, name: symbol, lastTime: last, columnCount: t.types.count)
        t.symbols[index] = b
        return b
    }

    /// Appends one row (Float64 values as bit patterns) after checking that time does not go back.
    @inline(__always)
    func appendRow(_ t: TableBuffers, _ b: SymbolBuffer, time: Int64, values: [Int64]) throws(StrataError) {
        if let last = b.lastTime, time < last { throw timeWentBack(t, b, time: time, after: last, row: nil) }
        if b.times.capacity == 0 { prepare(b, columnCount: t.types.count) }
        b.lastTime = time
        b.times.append(time)
        for c in 0..<values.count { b.columns[c].append(values[c]) }
        bufferedRows += 1
        if b.times.count >= blockRows || bufferedRows > Limits.bufferedRowsMax { try afterAppend(t, b) }
    }

    /// Appends `rows` of a column-major batch (value `c` of row `r` at `columns[c * stride + r]`) to one
    /// symbol. Returns the first row whose time goes back and the time it comes after, and then appends
    /// nothing; nil when all were appended.
    func appendRows(
        _ t: TableBuffers, _ b: SymbolBuffer, times: [Int64], columns: [Int64],
        stride: Int, rows: Range<Int>
    ) throws(StrataError) -> (row: Int, after: Int64)? {
        var last = b.lastTime
        for r in rows {
            if let l = last, times[r] < l { return (r, l) }
            last = times[r]
        }
        var r = rows.lowerBound
        while r < rows.upperBound {
            prepare(b, columnCount: t.types.count)
            let n = min(blockRows - b.times.count, rows.upperBound - r)
            b.times.append(contentsOf: times[r..<r + n])
            for c in 0..<t.types.count {
                b.columns[c].append(contentsOf: columns[c * stride + r..<c * stride + r + n])
            }
            b.lastTime = times[r + n - 1]
            bufferedRows += n
            r += n
            try afterAppend(t, b)
        }
        return nil
    }

    func timeWentBack(_ t: TableBuffers, _ b: SymbolBuffer, time: Int64, after last: Int64, row: Int?) -> StrataError {
        let at = row.map { " (batch row \($0))" } ?? ""
        return .badInput(
            "time goes back for symbol '\(b.name)' in table \(t.name): \(time) comes after \(last)\(at); rows of a symbol must be appended in time order")
    }

    private func prepare(_ b: SymbolBuffer, columnCount: Int) {
        if b.times.capacity > 0 { return }
        if let (times, columns) = pool[columnCount]?.popLast() {
            b.times = times
            b.columns = columns
        } else {
            b.times.reserveCapacity(blockRows)
            for c in 0..<columnCount { b.columns[c].reserveCapacity(blockRows) }
        }
    }

    private func afterAppend(_ t: TableBuffers, _ b: SymbolBuffer) throws(StrataError) {
        if b.times.count >= blockRows { try seal(t, b) }
        if bufferedRows > Limits.bufferedRowsMax { try sealLargest() }
    }

    /// Keeps memory bounded when many symbols are interleaved: seals the fullest buffers early.
    private func sealLargest() throws(StrataError) {
        var all: [(TableBuffers, SymbolBuffer)] = []
        for t in tables.values { for case let b? in t.symbols where !b.times.isEmpty { all.append((t, b)) } }
        all.sort { $0.1.times.count > $1.1.times.count }
        for (t, b) in all {
            if bufferedRows <= Limits.bufferedRowsMax / 2 { break }
            try seal(t, b)
        }
    }

    // MARK: Sealing blocks

    /// Hands the buffered rows of one symbol to the sealer and writes the blocks that are ready.
    private func seal(_ t: TableBuffers, _ b: SymbolBuffer) throws(StrataError) {
        let rows = b.times.count
        if rows == 0 { return }
        let job = BlockSealer.Job(table: t.id, symbol: b.id, times: b.times, columns: b.columns, types: t.types)
        b.times = []
        b.columns = Array(repeating: [], count: b.columns.count)
        bufferedRows -= rows
        writer.sealer.submit(job)
        try write(writer.sealer.takeFinished())
    }

    /// Appends sealed blocks to the table's data file, in the order they were sealed.
    private func write(_ sealed: [BlockSealer.Sealed]) throws(StrataError) {
        for s in sealed {
            let file = try fileForAppend(s.job.table, bytes: s.bytes.count)
            let offset = catalog.files[file]!.length
            let h = try writer.handle(for: file, create: false)
            try s.bytes.withBytes { (raw) throws(StrataError) in try writer.fs.write(h, raw, at: offset) }
            catalog.files[file]!.length = offset + UInt64(s.bytes.count)
            let ref = BlockRef(
                file: file, offset: offset, length: UInt32(s.bytes.count), rows: UInt32(s.job.times.count),
                firstTime: s.job.times.first!, lastTime: s.job.times.last!)
            try record(.addBlock(table: s.job.table, symbol: s.job.symbol, ref: ref))
            let n = s.job.columns.count
            if pool[n, default: []].count < BlockSealer.inFlightMax + 4 {
                var times = s.job.times, columns = s.job.columns
                times.removeAll(keepingCapacity: true)
                for c in columns.indices { columns[c].removeAll(keepingCapacity: true) }
                pool[n, default: []].append((times, columns))
            }
        }
    }

    /// The data file the next block of `table` goes to: the table's last file while it is below the
    /// target size, else a new one.
    private func fileForAppend(_ table: UInt32, bytes: Int) throws(StrataError) -> UInt32 {
        if let last = catalog.tables[table]!.files.last,
            catalog.files[last]!.length + UInt64(bytes) <= Limits.dataFileBytesTarget
                || catalog.files[last]!.length == UInt64(DataFileFormat.headerBytes)
        {
            if !touched.contains(last) {
                touched.insert(last)
                if !newFiles.contains(last) { committedLengths[last] = catalog.files[last]!.length }
            }
            return last
        }
        let id = catalog.nextFileID
        let h = try writer.handle(for: id, create: true)
        newFiles.append(id)
        touched.insert(id)
        try record(.addFile(id: id, table: table))
        let header = DataFileFormat.header(fileID: id, tableID: table)
        try header.withBytes { (raw) throws(StrataError) in try writer.fs.write(h, raw, at: 0) }
        catalog.files[id]!.length = UInt64(header.count)
        return id
    }

    private func record(_ entry: ManifestEntry) throws(StrataError) {
        entries.append(entry)
        try catalog.apply([entry], what: { "transaction" })
    }

    // MARK: Commit and rollback

    /// Seals what is buffered, makes the data durable, then appends and syncs the commit record.
    func commit() throws(StrataError) -> Catalog {
        for t in tables.values.sorted(by: { $0.id < $1.id }) {
            for case let b? in t.symbols { try seal(t, b) }
        }
        try write(writer.sealer.finishAll())
        if entries.isEmpty { return catalog }
        let fs = writer.fs
        for file in touched.sorted() { try fs.sync(try writer.handle(for: file, create: false)) }
        if !newFiles.isEmpty { try fs.syncDirectory(writer.directory) }
        for file in touched.sorted() { entries.append(.fileLength(file: file, length: catalog.files[file]!.length)) }
        catalog.sequence += 1
        let bytes = ManifestCodec.encodeRecord(sequence: catalog.sequence, entries: entries)
        try bytes.withBytes { (raw) throws(StrataError) in try fs.write(writer.manifest, raw, at: writer.manifestLength) }
        try fs.sync(writer.manifest)
        writer.manifestLength += UInt64(bytes.count)
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
