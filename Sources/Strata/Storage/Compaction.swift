/// What a compaction did. Bytes count the data files and the manifest.
public struct CompactionReport: Sendable {
    /// Tables whose blocks were rewritten.
    public var tables: [String] = []
    /// Blocks in the compacted tables before.
    public var blocksBefore = 0
    /// Blocks in them after.
    public var blocksAfter = 0
    /// Bytes of their data files before.
    public var bytesBefore: UInt64 = 0
    /// Bytes of their data files after.
    public var bytesAfter: UInt64 = 0
    /// Bytes of the manifest before.
    public var manifestBytesBefore: UInt64 = 0
    /// Bytes of the manifest after (a checkpoint).
    public var manifestBytesAfter: UInt64 = 0
    /// Rows decoded and encoded again (merged small blocks).
    public var rowsRewritten = 0
    /// Full blocks moved byte for byte out of a file being replaced.
    public var blocksCopied = 0
    /// Data files the compaction replaced (deleted once no snapshot maps them).
    public var filesRemoved = 0
    /// Data files it wrote.
    public var filesWritten = 0
    /// False when there was nothing worth doing; nothing was written then.
    public var changed = false
}

extension Database {
    /// Rewrites runs of small blocks (left by many small commits) into full blocks, with encodings
    /// chosen afresh, and replaces the manifest by a checkpoint of the current state, reclaiming the
    /// space of everything replaced. `table` limits the block rewrite to one table.
    ///
    /// Compaction holds the writer lock for its duration: appends of this process wait for it, other
    /// processes get `.locked`. It is atomic: the new data files are synced first, then the new
    /// manifest is renamed over the old one (the commit point). Until then the old state is complete;
    /// after it, the new one is. Snapshots taken before keep reading the old files, which are removed
    /// only when the last such snapshot of this process is gone.
    ///
    /// A data file is rewritten when it holds a block that is smaller than `blockRows` and next to
    /// another small block of the same symbol; every block of such a file moves (full blocks byte for
    /// byte, runs of small ones merged), so the whole file can go.
    public func compact(
        table: String? = nil, progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws(StrataError) -> CompactionReport {
        let outcome: (CompactionReport, StrataError?)
        do {
            // Never beside an auto-compaction round: they would replace the same files.
            let work = { try self.withWriter("db.compact") { w in try self.compact(w, table: table, progress: progress) } }
            if let c = autoCompactor {
                outcome = try c.rounds.withLock { (_: inout RoundState) throws -> (CompactionReport, StrataError?) in try work() }
            } else {
                outcome = try work()
            }
        } catch let error as StrataError {
            throw error
        } catch {
            throw StrataError(.io, "compaction failed: \(error)")
        }
        let (report, late) = outcome
        if let late { throw late }  // after the new state is published: it is in place
        return report
    }

    private func compact(
        _ w: Writer, table: String?, progress: ((Int, Int) -> Void)?
    ) throws(StrataError) -> (CompactionReport, StrataError?) {
        let snapshot = current.withLock { $0.snapshot }.checkingChecksums(true)
        var compactor = try Compactor(snapshot: snapshot, writer: w, table: table, blockRows: options.blockRows)
        let (catalog, report, late) = try compactor.compact(progress: progress)
        guard report.changed else { return (report, nil) }
        let retired = compactor.retired
        current.withLock { state in
            for id in retired {
                if let lease = state.snapshot.leases[id] { lease.retire() } else { try? fs.remove(path + "/" + Catalog.dataFileName(id)) }
            }
            state.snapshot = Snapshot.make(catalog: catalog, previous: state.snapshot, directory: path, fs: fs, checkChecksums: options.checkChecksums)
            state.manifestOffset = w.manifestLength
        }
        feed.publish([Commit(sequence: catalog.sequence, tables: report.tables)])
        return (report, late)
    }
}

/// One compaction's work, inside the writer lock.
struct Compactor {
    let snapshot: Snapshot
    let writer: Writer
    let tableIDs: [UInt32]
    let blockRows: Int
    /// Files replaced by this compaction.
    private(set) var retired: Set<UInt32> = []
    private var written: [(id: UInt32, table: UInt32)] = []
    private var catalog: Catalog
    private var encoder = BlockEncoder()

    init(snapshot: Snapshot, writer: Writer, table: String?, blockRows: Int) throws(StrataError) {
        self.snapshot = snapshot
        self.writer = writer
        self.blockRows = blockRows
        self.catalog = snapshot.catalog
        if let table {
            tableIDs = [try snapshot.tableState(table).id]
        } else {
            tableIDs = snapshot.catalog.tables.keys.sorted()
        }
    }

    /// Files holding a block that could merge with its neighbour, and files that are at least half
    /// dead (blocks that late rows, deletes or rewrites replaced).
    static func filesToRewrite(_ t: Catalog.TableState, files: [UInt32: Catalog.FileState], blockRows: Int) -> Set<UInt32> {
        var rewrite: Set<UInt32> = []
        var live: [UInt32: UInt64] = [:]
        for s in t.symbols {
            for b in s.blocks { live[b.file, default: 0] += UInt64(b.length) }
            for i in s.blocks.indices.dropFirst() where s.blocks[i - 1].rows < blockRows && s.blocks[i].rows < blockRows {
                rewrite.insert(s.blocks[i - 1].file)
                rewrite.insert(s.blocks[i].file)
            }
        }
        for id in t.files {
            let length = files[id]?.length ?? 0
            let used = length > UInt64(DataFileFormat.headerBytes) ? length - UInt64(DataFileFormat.headerBytes) : 0
            let dead = used > (live[id] ?? 0) ? used - (live[id] ?? 0) : 0
            if used > 0 && dead * 2 >= used { rewrite.insert(id) }
        }
        return rewrite
    }

    /// Returns the new catalog, the report, and an error that came after the commit point (the new
    /// state is in place then, and the caller must publish it before reporting the error).
    mutating func compact(progress: ((Int, Int) -> Void)?) throws(StrataError) -> (Catalog, CompactionReport, StrataError?) {
        var report = CompactionReport()
        let before = snapshot.catalog
        report.manifestBytesBefore = writer.manifestLength
        report.bytesBefore = before.files.values.reduce(writer.manifestLength) { $0 + $1.length }
        report.blocksBefore = Self.blocks(before)
        var late: StrataError? = nil
        do {
            for id in tableIDs {
                retired.formUnion(Self.filesToRewrite(before.tables[id]!, files: before.files, blockRows: blockRows))
                retired.formUnion(try filesWithDroppedColumns(before.tables[id]!))
            }
            if !retired.isEmpty { try rewrite(progress: progress, report: &report) }
            let checkpoint = ManifestCodec.checkpoint(catalog, firstSequence: before.sequence + 1)
            let checkpointBytes = checkpoint.reduce(ManifestFormat.fileHeaderBytes) { $0 + $1.count }
            // Without blocks to merge, the manifest alone is worth replacing once its log is twice its state.
            if retired.isEmpty && UInt64(checkpointBytes) * 2 > writer.manifestLength {
                report.bytesAfter = report.bytesBefore
                report.blocksAfter = report.blocksBefore
                report.manifestBytesAfter = report.manifestBytesBefore
                return (before, report, nil)
            }
            let fs = writer.fs
            for f in written { try fs.sync(try writer.handle(for: f.id, create: false)) }
            if !written.isEmpty { try fs.syncDirectory(writer.directory) }
            catalog.sequence = before.sequence + UInt64(checkpoint.count)
            if let notDurable = try writer.replaceManifest(checkpoint) {
                // In place but perhaps not durable: keep the old files (the next open removes them).
                late = StrataError(.io, "compaction is in place, but syncing the directory failed (\(notDurable.message)); the files it replaced are kept until the next open")
            }
        } catch {
            // Not committed: the old state stands; remove what was written for the new one.
            for f in written {
                writer.forget(f.id)
                try? writer.fs.remove(writer.directory + "/" + Catalog.dataFileName(f.id))
            }
            retired = []
            throw error
        }
        let replaced = retired
        for id in retired { writer.forget(id) }
        if late != nil { retired = [] }
        report.changed = true
        report.manifestBytesAfter = writer.manifestLength
        report.bytesAfter = catalog.files.values.reduce(writer.manifestLength) { $0 + $1.length }
        report.blocksAfter = Self.blocks(catalog)
        report.filesRemoved = replaced.count
        report.filesWritten = written.count
        report.tables = tableIDs.filter { id in before.tables[id]!.files.contains(where: replaced.contains) }.map { before.tables[$0]!.name }
        return (catalog, report, late)
    }

    private static func blocks(_ c: Catalog) -> Int {
        c.tables.values.reduce(0) { $0 + $1.symbols.reduce(0) { $0 + $1.blocks.count } }
    }

    private mutating func rewrite(progress: ((Int, Int) -> Void)?, report: inout CompactionReport) throws(StrataError) {
        var total = 0
        for id in tableIDs {
            for s in catalog.tables[id]!.symbols {
                for b in s.blocks where retired.contains(b.file) { total += Int(b.rows) }
            }
        }
        var done = 0
        progress?(0, total)
        let decoded = DecodedBlock()
        for id in tableIDs {
            var t = catalog.tables[id]!
            if !t.files.contains(where: retired.contains) { continue }
            for symbolID in t.symbols.indices where t.symbols[symbolID].blocks.contains(where: { retired.contains($0.file) }) {
                t.symbols[symbolID].blocks = try rewriteSymbol(t, symbolID, decoded, report: &report) { rows in
                    done += rows
                    progress?(done, total)
                }
            }
            t.files = t.files.filter { !retired.contains($0) } + written.filter { $0.table == id }.map(\.id)
            catalog.tables[id] = t
        }
        for id in retired { catalog.files[id] = nil }
    }

    /// Files holding a block with a chunk of a dropped column: rewriting them reclaims its bytes.
    /// Only tables that dropped a column (fewer columns than ids given) have their headers read.
    func filesWithDroppedColumns(_ t: Catalog.TableState) throws(StrataError) -> Set<UInt32> {
        var files: Set<UInt32> = []
        if t.schema.columns.count == Int(t.schema.nextColumnID) { return files }
        for symbolID in t.symbols.indices {
            for (index, ref) in t.symbols[symbolID].blocks.enumerated() where !files.contains(ref.file) {
                if try holdsDroppedColumn(t, symbolID, index) { files.insert(ref.file) }
            }
        }
        return files
    }

    private func holdsDroppedColumn(_ t: Catalog.TableState, _ symbolID: Int, _ index: Int) throws(StrataError) -> Bool {
        if t.schema.columns.count == Int(t.schema.nextColumnID) { return false }
        let h = try snapshot.header(t, symbol: symbolID, block: index)
        return (1..<h.columnCount).contains { t.schema.columnIndex(id: h.columnID($0)) == nil }
    }

    /// The new block list of one symbol: blocks in files that stay are kept, full blocks of retired
    /// files are copied byte for byte, runs of small ones are merged into full blocks. `advanced`
    /// hears the rows of each retired block handled.
    private mutating func rewriteSymbol(
        _ t: Catalog.TableState, _ symbolID: Int, _ decoded: DecodedBlock, report: inout CompactionReport,
        advanced: (Int) -> Void
    ) throws(StrataError) -> BlockList {
        var kept: [BlockRef] = []
        var pending = PendingRows(columns: t.schema.columns.map { ColumnBuffer(type: $0.type) })
        for (index, ref) in t.symbols[symbolID].blocks.enumerated() {
            if !retired.contains(ref.file) {
                if !pending.times.isEmpty { kept.append(try seal(&pending, rows: pending.times.count, t, symbolID)) }
                kept.append(ref)
                continue
            }
            if pending.times.isEmpty && ref.rows >= blockRows, try !holdsDroppedColumn(t, symbolID, index) {
                kept.append(try copy(t, symbolID, index, ref))
                report.blocksCopied += 1
            } else {
                _ = try snapshot.decode(t, symbol: symbolID, block: index, columns: Array(t.schema.columns.indices), into: decoded)
                pending.append(decoded)
                report.rowsRewritten += Int(ref.rows)
                while pending.times.count >= blockRows { kept.append(try seal(&pending, rows: blockRows, t, symbolID)) }
            }
            advanced(Int(ref.rows))
        }
        if !pending.times.isEmpty { kept.append(try seal(&pending, rows: pending.times.count, t, symbolID)) }
        return BlockList(kept)
    }

    /// Encodes the first `rows` pending rows as a new block and appends it.
    private mutating func seal(
        _ pending: inout PendingRows, rows: Int, _ t: Catalog.TableState, _ symbolID: Int
    ) throws(StrataError) -> BlockRef {
        let (times, columns) = pending.removeFirst(rows)
        let bytes = encoder.encode(
            tableID: t.id, symbolID: UInt32(symbolID), times: times, columns: columns, ids: t.schema.columns.map(\.id),
            types: t.schema.columns.map(\.type))
        let (file, offset) = try append(bytes, table: t.id)
        return BlockRef(
            file: file, offset: offset, length: UInt32(bytes.count), rows: UInt32(rows), firstTime: times[0], lastTime: times[rows - 1])
    }

    /// Copies a full block byte for byte, after checking its header and every chunk's checksum.
    private mutating func copy(_ t: Catalog.TableState, _ symbolID: Int, _ index: Int, _ ref: BlockRef) throws(StrataError) -> BlockRef {
        let (file, offset) = try append(try snapshot.checkedBlockBytes(t, symbol: symbolID, block: index), table: t.id)
        var moved = ref
        moved.file = file
        moved.offset = offset
        return moved
    }

    /// Appends one block to the table's newest compaction file (a new one once past the size target).
    private mutating func append(_ bytes: [UInt8], table: UInt32) throws(StrataError) -> (UInt32, UInt64) {
        var file = written.last(where: { $0.table == table })?.id
        if let f = file, catalog.files[f]!.length + UInt64(bytes.count) > Limits.dataFileBytesTarget { file = nil }
        if file == nil {
            let id = writer.newFileID(catalog)
            let h = try writer.handle(for: id, create: true)
            try writer.fs.truncate(h, to: 0)
            let header = DataFileFormat.header(fileID: id, tableID: table)
            try header.withBytes { (raw) throws(StrataError) in try writer.fs.write(h, raw, at: 0) }
            catalog.files[id] = Catalog.FileState(id: id, table: table, length: UInt64(header.count))
            catalog.fileIDFloor = max(catalog.fileIDFloor, id + 1)
            written.append((id, table))
            file = id
        }
        let id = file!
        let offset = catalog.files[id]!.length
        let h = try writer.handle(for: id, create: false)
        try bytes.withBytes { (raw) throws(StrataError) in try writer.fs.write(h, raw, at: offset) }
        catalog.files[id]!.length = offset + UInt64(bytes.count)
        return (id, offset)
    }
}

/// Rows of one symbol waiting to be sealed into merged blocks.
struct PendingRows {
    var times: [Int64] = []
    var columns: [ColumnBuffer]

    mutating func append(_ d: DecodedBlock) {
        times.append(contentsOf: d.times)
        for slot in columns.indices { columns[slot].append(contentsOf: d.columnBuffer(slot, 0..<d.rows), 0..<d.rows) }
    }

    /// Takes the first `rows` rows out.
    mutating func removeFirst(_ rows: Int) -> (times: [Int64], columns: [ColumnBuffer]) {
        let out = (Array(times[0..<rows]), columns.map { $0.gather(0..<rows) })
        times.removeFirst(rows)
        for c in columns.indices { columns[c] = columns[c].gather(rows..<columns[c].count) }
        return out
    }
}

extension Snapshot {
    /// The bytes of a block, for a byte-for-byte copy, after checking its header and every chunk's checksum.
    func checkedBlockBytes(_ t: Catalog.TableState, symbol symbolID: Int, block index: Int) throws(StrataError) -> [UInt8] {
        let ref = t.symbols[symbolID].blocks[index]
        let h = try header(t, symbol: symbolID, block: index)
        let what = blockContext(t, symbol: symbolID, block: index, ref)
        for c in 0..<h.columnCount {
            try h.checkWholeChunk(c, what: what)
        }
        return try region(ref.file).copyBytes(Int(ref.offset)..<Int(ref.offset) + Int(ref.length))
    }
}
