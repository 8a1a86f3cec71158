/// A consistent, immutable view of committed data. Holds the mappings it reads from, so it stays
/// readable while the writer goes on; cheap to copy and safe to share between threads.
public struct Snapshot: Sendable {
    let catalog: Catalog
    let directory: String
    /// Whether reads check each column chunk against its checksum before decoding it.
    let checkChecksums: Bool
    /// The mapping of each data file up to its committed length, or why it could not be mapped.
    let regions: [UInt32: Result<MappedRegion, StrataError>]
    /// One lease per data file, shared by every snapshot that includes the file: a file that compaction
    /// retired is removed from disk when the last snapshot holding its lease goes away.
    let leases: [UInt32: DataFileLease]
    /// What names a block in an error message (`blockContext`).
    let places: BlockPlaces
    /// The bytes of each mapping in `regions` that succeeded: valid while the snapshot holds them,
    /// which every copy of it does (both are set here, once, and never apart). A block's header is
    /// read through these: taking the region object out of `regions` counted a reference on it for
    /// every block, an atomic every scan thread contended for.
    let mapped: [UInt32: MappedBytes]

    struct MappedBytes: @unchecked Sendable {
        let bytes: UnsafeRawBufferPointer
        /// The region the bytes are of, for `BlockCopy` (held by `regions`, as the bytes are).
        unowned(unsafe) let region: MappedRegion
    }

    init(
        catalog: Catalog, directory: String, checkChecksums: Bool, regions: [UInt32: Result<MappedRegion, StrataError>],
        leases: [UInt32: DataFileLease], places: BlockPlaces
    ) {
        (self.catalog, self.directory, self.checkChecksums, self.regions, self.leases, self.places) =
            (catalog, directory, checkChecksums, regions, leases, places)
        mapped = regions.compactMapValues { r in
            guard case .success(let region) = r else { return nil }
            return region.withBytes { MappedBytes(bytes: $0, region: region) }
        }
    }

    static func make(catalog: Catalog, previous: Snapshot?, directory: String, fs: any FileSystem, checkChecksums: Bool) -> Snapshot {
        var regions: [UInt32: Result<MappedRegion, StrataError>] = [:]
        var leases: [UInt32: DataFileLease] = [:]
        for file in catalog.files.values {
            // A retired lease belongs to a file that is gone (or going): never to a new file of that name.
            if let lease = previous?.leases[file.id], !lease.isRetired {
                leases[file.id] = lease
            } else {
                leases[file.id] = DataFileLease(path: directory + "/" + Catalog.dataFileName(file.id), fs: fs)
            }
            if let old = previous?.regions[file.id], case .success(let r) = old, r.count == Int(file.length) {
                regions[file.id] = old
                continue
            }
            regions[file.id] = Result { () throws(StrataError) -> MappedRegion in
                try map(file, directory: directory, fs: fs)
            }
        }
        return Snapshot(
            catalog: catalog, directory: directory, checkChecksums: checkChecksums, regions: regions, leases: leases,
            places: BlockPlaces(directory: directory, catalog: catalog))
    }

    /// The same state, with chunk checksums checked or not.
    func checkingChecksums(_ on: Bool) -> Snapshot {
        Snapshot(catalog: catalog, directory: directory, checkChecksums: on, regions: regions, leases: leases, places: places)
    }

    /// Whether a data file failed to map because it no longer exists (a compaction in another process
    /// removed it after this snapshot's manifest was read).
    func lacksFiles(fs: any FileSystem) -> Bool {
        regions.contains { id, r in
            if case .failure = r { !fs.exists(directory + "/" + Catalog.dataFileName(id)) } else { false }
        }
    }

    private static func map(_ file: Catalog.FileState, directory: String, fs: any FileSystem) throws(StrataError) -> MappedRegion {
        let name = Catalog.dataFileName(file.id)
        let h = try fs.open(directory + "/" + name, create: false, writable: false)
        defer { fs.close(h) }
        let size = try fs.size(h)
        if size < file.length {
            throw .damaged("\(directory)/\(name) is \(size) bytes but \(file.length) are committed: the file was truncated")
        }
        let region = try fs.map(h, length: Int(file.length))
        try DataFileFormat.check(region, fileID: file.id, tableID: file.table, name: "\(directory)/\(name)")
        return region
    }

    // MARK: Catalog

    /// The sequence number of the last commit this snapshot includes (0 for an empty database).
    public var sequence: UInt64 { catalog.sequence }

    /// Table names, sorted.
    public var tables: [String] { catalog.tableIDs.keys.sorted().map(\.string) }

    /// The schema of `table`, or nil when there is no such table.
    public func schema(of table: String) -> Schema? { state(table)?.schema }

    /// The symbols of a table that hold rows, in byte order of their UTF-8.
    public func symbols(of table: String) -> [String] {
        guard let t = state(table) else { return [] }
        return t.symbols.filter { $0.rows > 0 }.map(\.name).sorted(by: utf8Less)
    }

    /// Rows committed for one symbol, or for the whole table when `symbol` is nil.
    public func rowCount(_ table: String, symbol: String? = nil) -> Int {
        guard let t = state(table) else { return 0 }
        if let symbol {
            return t.symbolID(symbol).map { t.symbols[Int($0)].rows } ?? 0
        }
        return t.symbols.reduce(0) { $0 + $1.rows }
    }

    func state(_ table: String) -> Catalog.TableState? {
        catalog.tableID(table).flatMap { catalog.tables[$0] }
    }

    func tableState(_ table: String) throws(StrataError) -> Catalog.TableState {
        guard let t = state(table) else {
            let known = tables.isEmpty ? "the database has no tables" : "tables: " + tables.joined(separator: ", ")
            throw .badInput("no table named \(table) (\(known))")
        }
        return t
    }

    /// The mapping of a data file, or why it could not be mapped.
    func region(_ file: UInt32) throws(StrataError) -> MappedRegion {
        guard let r = regions[file] else { throw .damaged("file id \(file) is not mapped") }
        switch r {
        case .success(let region): return region
        case .failure(let e): throw e
        }
    }

    // MARK: Reading blocks

    /// Names a block for an error message, when one is made. The closure holds numbers and an
    /// unowned reference to the snapshot's `BlockPlaces`, nothing reference-counted: it is made for
    /// every block a scan reads, from every scan thread at once, and retaining the directory's and
    /// the table's strings (or one shared object) there was a quarter of LATEST ON's time. It must
    /// not outlive the snapshot, and does not: it is used inside the read it was made for.
    func blockContext(_ t: Catalog.TableState, symbol symbolID: Int, block index: Int, _ ref: BlockRef) -> () -> String {
        let table = t.id
        return { [unowned(unsafe) places] in places.describe(table: table, symbol: symbolID, block: index, ref) }
    }

    /// Parses a block's header and checks it against the manifest's reference and the table's schema.
    func header(_ t: Catalog.TableState, symbol symbolID: Int, block index: Int) throws(StrataError) -> BlockHeader {
        let ref = t.symbols[symbolID].blocks[index]
        guard let region = mapped[ref.file]?.bytes else {
            _ = try self.region(ref.file)  // throws why the file could not be mapped
            throw .damaged("file id \(ref.file) is not mapped")
        }
        do {
            return try Self.header(region, ref, t, symbolID)
        } catch {
            throw .damaged("\(blockContext(t, symbol: symbolID, block: index, ref)()): \(error.message)")
        }
    }

    /// A block's header for its statistics and descriptors alone: its chunks are not read through
    /// it (`withChunkBytes` traps). The first time the block is read, the header is copied into
    /// `copy` with pread(2) (`BlockCopy.header`) rather than read through the mapping: a query
    /// answered from statistics reads the headers of thousands of blocks, and in a fresh process
    /// each was a page fault that mapped 16 pages around it. Later reads, and reads whose copy
    /// fails, use the mapping. Checked as `header` checks; a header the copy finds damaged is read
    /// again through the mapping, for the error `header` gives.
    func statsHeader(_ t: Catalog.TableState, symbol symbolID: Int, block index: Int, copy: BlockCopy) throws(StrataError) -> BlockHeader {
        if let h = copiedHeader(t, symbolID, index, { copy.header($0, $1, t.schema) }) { return h }
        return try header(t, symbol: symbolID, block: index)
    }

    /// The header of a block as `copying` copies it (`BlockCopy`), checked against the manifest;
    /// nil when the block is read through the mapping (which reports any damage, as it always did).
    private func copiedHeader(
        _ t: Catalog.TableState, _ symbolID: Int, _ index: Int, _ copying: (MappedRegion, BlockRef) -> BlockHeader?
    ) -> BlockHeader? {
        let ref = t.symbols[symbolID].blocks[index]
        guard let m = mapped[ref.file], Int(ref.offset) + Int(ref.length) <= m.bytes.count,
            let h = copying(m.region, ref), (try? Self.check(h, ref, t, symbolID)) != nil
        else { return nil }
        return h
    }

    /// The checks of `header`, with messages that leave out where: no closure, no copies on the hot path.
    private static func header(
        _ region: UnsafeRawBufferPointer, _ ref: BlockRef, _ t: Catalog.TableState, _ symbolID: Int
    ) throws(StrataError) -> BlockHeader {
        let end = Int(ref.offset) + Int(ref.length)
        if end > region.count { throw .damaged("block runs past the end of the file") }
        let h = try BlockHeader.parse(region, at: Int(ref.offset), end: end, schema: t.schema)
        try check(h, ref, t, symbolID)
        return h
    }

    /// That a parsed header is the block the manifest names.
    private static func check(_ h: BlockHeader, _ ref: BlockRef, _ t: Catalog.TableState, _ symbolID: Int) throws(StrataError) {
        if h.totalBytes != Int(ref.length) || h.rows != Int(ref.rows) || h.firstTime != ref.firstTime
            || h.lastTime != ref.lastTime || h.tableID != t.id || h.symbolID != UInt32(symbolID)
        {
            throw .damaged("block header does not match the manifest")
        }
    }

    /// Decodes the time column and the value columns `columns` (schema indices) of one block,
    /// for the rows of `window` (`decodeChunks`).
    /// Float64 columns whose flag in `scaled` is set are left as scaled integers when they are
    /// decimal-encoded in this block (`DecodedBlock.scales`). With `copy`, a block read the first
    /// time whose chunks to decode are few bytes is copied rather than read through the mapping
    /// (`BlockCopy.block`); the header returned then lives in `copy` until its next use.
    func decode(
        _ t: Catalog.TableState, symbol symbolID: Int, block index: Int, columns: [Int], scaled: [Bool]? = nil,
        window: RowWindow = .all, into out: DecodedBlock, copy: BlockCopy? = nil
    ) throws(StrataError) -> BlockHeader {
        let ref = t.symbols[symbolID].blocks[index]
        // The error context holds numbers and an unowned reference, as `blockContext`'s: a local
        // function capturing `self` and `t` copied both (retains on storage shared by the scan
        // threads) at every chunk, and captured strings were retained at every chunk too. Written
        // here rather than taken from `blockContext`, whose closure escapes (its context was
        // allocated for every block), it lives on the stack.
        let table = t.id
        if let copy, let copied = copiedHeader(t, symbolID, index, { copy.block($0, $1, t.schema, columns: columns) }) {
            do {
                return try Self.decodeChunks(
                    copied, t.schema, columns: columns, scaled: scaled, window: window, checkChecksums: checkChecksums, into: out,
                    copy: copy, what: { [unowned(unsafe) places] in places.describe(table: table, symbol: symbolID, block: index, ref) })
            } catch {
                // A chunk the copy could not finish (`BlockCopy.fill`) is read through the mapping,
                // which reports any damage, as it always did.
                if error != BlockCopy.unfinished { throw error }
            }
        }
        let h = try header(t, symbol: symbolID, block: index)
        return try Self.decodeChunks(
            h, t.schema, columns: columns, scaled: scaled, window: window, checkChecksums: checkChecksums, into: out,
            what: { [unowned(unsafe) places] in places.describe(table: table, symbol: symbolID, block: index, ref) })
    }

    /// Decodes the chunks of a parsed block: the time column, then the value columns `columns`
    /// (schema indices, as all null where the block has no chunk for them). The block ends at the
    /// last row of `window` and its rows before the window's first (`out.first`) are left
    /// unspecified where that saves work: a scan decodes the values of the rows it reads, not the
    /// rest. A header from `copy` has the chunks it left for later (`BlockCopy.deferred`) copied
    /// for those rows once the time column gave them (`BlockCopy.fill`; `BlockCopy.unfinished`
    /// when it cannot). Returns the header, with those chunks.
    @discardableResult
    static func decodeChunks(
        _ h: BlockHeader, _ schema: Schema, columns: [Int], scaled: [Bool]? = nil, window: RowWindow = .all,
        checkChecksums: Bool, into out: DecodedBlock, copy: BlockCopy? = nil, what: () -> String
    ) throws(StrataError) -> BlockHeader {
        var h = h
        out.reset(rows: h.rows, columns: columns, schema: schema)
        out.checkSegments = checkChecksums
        let time = h.chunk(0)
        try h.withChunkBytes(0, checkChecksum: checkChecksums, what: what) { (bytes) throws(StrataError) in
            try out.decodeTimes(bytes, time, first: h.firstTime, last: h.lastTime, window: window, what: what)
        }
        var predicted: [(slot: Int, chunk: Int)] = []
        for (slot, c) in columns.enumerated() {
            guard let k = h.chunkIndex(columnID: schema.columns[c].id, hint: c + 1) else {
                out.setAllNull(slot)
                continue
            }
            let chunk = h.chunk(k)
            if Int(chunk.encoding.scale) > Limits.decimalScaleMax { throw .damaged("\(what()): decimal scale \(chunk.encoding.scale) too large") }
            let keepScaled = scaled?[slot] == true && chunk.type == .float64 && chunk.encoding.has(Encoding.decimal)
            out.scales[slot] = keepScaled ? powersOfTen[Int(chunk.encoding.scale)] : nil
            if chunk.encoding.has(Encoding.predicted) {
                predicted.append((slot, k))  // after the columns it may take from
                continue
            }
            if let copy, k < 64, copy.deferred & (1 << UInt64(k)) != 0 {
                // The values `decodeColumn` reads of a chunk with no null row: `ColumnCodec.decode`'s window.
                let limit = min(out.wanted, h.rows)
                guard let filled = copy.fill(h, chunk: k, values: min(max(out.first, 0), limit)..<limit) else { throw BlockCopy.unfinished }
                h = filled
            }
            try h.withChunkBytes(k, checkChecksum: checkChecksums, what: what) { (bytes) throws(StrataError) in
                try out.decodeColumn(slot, bytes, chunk, descale: !keepScaled, what: what)
            }
        }
        for (slot, k) in predicted {
            let chunk = h.chunk(k)
            try h.withChunkBytes(k, checkChecksum: checkChecksums, what: what) { (bytes) throws(StrataError) in
                try out.decodePredicted(slot, bytes, chunk, descale: out.scales[slot] == nil, what: what) { (id, buffer) throws(StrataError) in
                    let scale = try referenceScale(h, id, what: what)
                    // A column the query reads is taken where it was decoded: counts, and prices kept scaled.
                    let last = ColumnCodec.lastInteger(h.chunk(h.chunkIndex(columnID: id)!))
                    if let s = columns.indices.first(where: { schema.columns[columns[$0]].id == id }), out.nulls[s].isEmpty,
                        scale < 0 ? out.types[s] == .int64 : out.scales[s] == powersOfTen[scale]
                    {
                        return (scale, s, last)
                    }
                    try decodeReference(
                        h, id, into: &buffer, rows: out.first..<out.wanted, scratch: &out.referenceScratch, checkChecksums: checkChecksums,
                        what: what)
                    return (scale, nil, last)
                }
            }
        }
        if out.wanted < out.rows { out.end(at: out.wanted) }
        return h
    }

    /// The scale of the decimal column `id` a prediction names, or -1 for an int64 column; throws
    /// when the block has no such column or it cannot be used (nulls, a prediction of its own).
    static func referenceScale(_ h: BlockHeader, _ id: UInt32, what: () -> String) throws(StrataError) -> Int {
        guard let k = h.chunkIndex(columnID: id) else { throw .damaged("\(what()): a prediction names column id \(id), which the block lacks") }
        let d = h.chunk(k)
        if d.nullCount > 0 || d.encoding.has(Encoding.predicted) || d.type == .string
            || (d.type == .float64 && !d.encoding.has(Encoding.decimal)) || Int(d.encoding.scale) > Limits.decimalScaleMax
        {
            throw .damaged("\(what()): a prediction names column id \(id), which it cannot use")
        }
        return d.type == .float64 ? Int(d.encoding.scale) : -1
    }

    /// Decodes the column `id` a prediction names (checked by `referenceScale`), at least the rows
    /// `rows` (from their first to the block's end at most), into `buffer`: an int64 column's values or a
    /// decimal column's scaled integers.
    static func decodeReference(
        _ h: BlockHeader, _ id: UInt32, into buffer: inout [Int64], rows: Range<Int>, scratch: inout [UInt8], checkChecksums: Bool,
        what: () -> String
    ) throws(StrataError) {
        let k = h.chunkIndex(columnID: id)!
        let d = h.chunk(k)
        if buffer.count < h.rows { buffer.resizeForOverwrite(to: h.rows) }
        try h.withChunkBytes(k, checkChecksum: checkChecksums, what: what) { (bytes) throws(StrataError) in
            try buffer.withUnsafeMutableBufferPointer { (p) throws(StrataError) in
                try ColumnCodec.decode(
                    bytes, encoding: d.encoding, rawLength: Int(d.rawLength), rows: h.rows, from: rows.lowerBound, limit: rows.upperBound,
                    last: ColumnCodec.lastInteger(d), into: p, scratch: &scratch, descale: false, checkSegments: checkChecksums, what: what)
            }
        }
    }

    /// The dictionary of text chunk `c` of a parsed block, without decoding its codes.
    func dictionary(_ h: BlockHeader, chunk c: Int, what: () -> String) throws(StrataError) -> [String] {
        let d = h.chunk(c)
        var scratch: [UInt8] = []
        return try h.withChunkBytes(c, checkChecksum: checkChecksums, what: what) { (bytes) throws(StrataError) in
            let parts = try ChunkParts.locate(bytes, type: .string, nullCount: Int(d.nullCount), rows: h.rows, what: what)
            return try ChunkParts.decodeDictionary(parts, scratch: &scratch, what: what)
        }
    }

    /// Index of the first block of `symbol` that can hold a time ≥ `from`.
    static func firstBlock(_ blocks: BlockList, from: Int64) -> Int {
        partitionPoint(in: 0..<blocks.count) { blocks[$0].lastTime >= from }
    }

    // MARK: Scans

    /// Scans one symbol over [from, to) in time order (to the last row, `Int64.max` included, when
    /// `to` is nil), one batch per block that overlaps the range.
    /// `columns` names the value columns to decode (all when nil). A batch is valid only inside `body`.
    public func scan(
        _ table: String, symbol: String, from: Int64 = .min, to: Int64? = nil, columns: [String]? = nil,
        _ body: (ScanBatch) throws -> Void
    ) throws {
        let t = try tableState(table)
        let indices = try columnIndices(t, columns)
        guard let id = t.symbolID(symbol) else { return }
        let decoded = DecodedBlock()
        defer { decoded.retire() }
        if let to, to == .min { return }
        try scan(t, Int(id), from: from, through: to.map { $0 - 1 } ?? .max, columns: indices, decoded: decoded, body)
    }

    func columnIndices(_ t: Catalog.TableState, _ names: [String]?) throws(StrataError) -> [Int] {
        guard let names else { return Array(t.schema.columns.indices) }
        var out: [Int] = []
        for n in names {
            guard let i = t.schema.columnIndex(n) else {
                throw .badInput("table \(t.name) has no column \(n) (columns: \(t.schema.columns.map(\.name).joined(separator: ", ")))")
            }
            out.append(i)
        }
        return out
    }

    func scan(
        _ t: Catalog.TableState, _ symbolID: Int, from: Int64, through last: Int64, columns: [Int], decoded: DecodedBlock,
        _ body: (ScanBatch) throws -> Void
    ) throws {
        if from > last { return }
        let s = t.symbols[symbolID]
        var i = Snapshot.firstBlock(s.blocks, from: from)
        while i < s.blocks.count, s.blocks[i].firstTime <= last {
            _ = try decode(t, symbol: symbolID, block: i, columns: columns, window: .times(from: from, through: last), into: decoded)
            if decoded.first < decoded.rows {
                try body(ScanBatch(symbol: s.name, rows: decoded.first..<decoded.rows, block: decoded))
            }
            i += 1
        }
    }
}

extension Array where Element == Int64 {
    /// The first index whose element satisfies `predicate`, which must be false then true along the array.
    func partitionPoint(_ predicate: (Int64) -> Bool) -> Int {
        Strata.partitionPoint(in: 0..<count) { predicate(self[$0]) }
    }
}

/// The directory and catalog of a snapshot, for naming a block in an error message: one object a
/// snapshot, so that a block's error closure holds one reference and four numbers.
final class BlockPlaces: Sendable {
    let directory: String
    let catalog: Catalog

    init(directory: String, catalog: Catalog) {
        self.directory = directory
        self.catalog = catalog
    }

    func describe(table id: UInt32, symbol: Int, block index: Int, _ ref: BlockRef) -> String {
        let t = catalog.tables[id]
        let table = t?.name ?? "id \(id)"
        let name = t.flatMap { symbol < $0.symbols.count ? $0.symbols[symbol].name : nil } ?? "id \(symbol)"
        return "\(directory)/\(Catalog.dataFileName(ref.file)), table \(table), symbol \(name), block \(index) (offset \(ref.offset))"
    }
}
