import Dispatch

/// How `ParquetExporter` lays files out.
public enum ParquetPartitioning: String, Sendable, CaseIterable {
    /// One file (`OUT` ends in `.parquet`) or `OUT/part-0.parquet`.
    case none
    /// `OUT/symbol=S/part-0.parquet`.
    case symbol
    /// `OUT/symbol=S/month=YYYY-MM/part-0.parquet`.
    case symbolMonth = "symbol,month"
}

/// What `ParquetExporter.export` writes: which rows, laid out how, compressed how.
public struct ParquetExportOptions: Sendable {
    /// The symbols to export (all when empty).
    public var symbols: [String] = []
    /// The time range [from, to) in the table's unit; `to` nil: to the last row.
    public var from: Int64 = .min
    /// The end of the time range, exclusive (nil: to the last row).
    public var to: Int64?
    /// One file, or a hive data set by symbol or by symbol and month.
    public var partitioning: ParquetPartitioning = .none
    /// The page compression (zstd, LZ4_RAW or none).
    public var codec: ParquetCodec = .zstd
    /// Months are cut at local midnight of this tz database zone (UTC when nil).
    public var timeZone: String?
    /// Rows per row group (the memory an export holds at once).
    public var rowGroupRows = 1 << 20
    /// About this many bytes of values per data page (tests make it small to cross many pages).
    var pageBytes = ParquetFileWriter.pageBytes

    /// The defaults: every row, one file, zstd.
    public init() {}
}

/// What an export wrote.
public struct ParquetExportResult: Sendable {
    /// The paths of the files written, in order.
    public var files: [String] = []
    /// Rows written.
    public var rows = 0
    /// Bytes written, all files together.
    public var bytes = 0

    /// An empty result.
    public init() {}
}

/// Writes a table's rows (a selection of symbols and a time range) as Parquet: one file, or a
/// hive-partitioned data set by symbol or by symbol and month. Partition columns are in the path, not
/// in the files. Rows go out in symbol, then time order, one row group at a time: memory stays
/// bounded whatever the table's size.
public enum ParquetExporter {
    /// Exports the rows `options` select of `table` in `snapshot` to `path` (a file or a directory, per `options.partitioning`); `progress` gets rows done and rows in all.
    public static func export(
        _ snapshot: Snapshot, table: String, to path: String, options: ParquetExportOptions = ParquetExportOptions(),
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws(StrataError) -> ParquetExportResult {
        guard options.rowGroupRows > 0 else { throw .misuse("rowGroupRows must be positive") }
        let t = try snapshot.tableState(table)
        let zone = try options.timeZone.map { (name) throws(StrataError) in try ZoneRules.load(name) }
        let single = options.partitioning == .none && path.hasSuffix(".parquet")
        if !single { try LocalFiles.makeEmptyDirectory(path) }
        var run = ExportRun(snapshot: snapshot, table: t, root: path, single: single, options: options, zone: zone)
        defer { run.settle() }
        let ids = try symbolIDs(t, options.symbols)
        let total = ids.reduce(0) { $0 + t.symbols[$1].rows }
        let decoded = DecodedBlock()
        defer { decoded.retire() }
        for id in ids {
            if options.partitioning != .none { try run.closeFile() }
            if let to = options.to, to == .min { break }
            do {
                try snapshot.scan(
                    t, id, from: options.from, through: options.to.map { $0 - 1 } ?? .max, columns: Array(t.schema.columns.indices),
                    decoded: decoded
                ) { batch in
                    try run.add(batch, symbol: id)
                    progress?(run.result.rows, total)
                }
            } catch let e as StrataError {
                throw e
            } catch {
                throw StrataError(.io, "\(path): \(error)")
            }
        }
        try run.closeFile()
        if single && run.result.files.isEmpty { try run.writeEmptyFile() }
        return run.result
    }

    /// The symbols to export, by id, in the order of their bytes; unknown ones are skipped.
    static func symbolIDs(_ t: Catalog.TableState, _ names: [String]) throws(StrataError) -> [Int] {
        let chosen = names.isEmpty ? t.symbols.map(\.name) : names
        return Set(chosen.map(ByteString.init)).sorted().compactMap { t.symbolID($0.string).map(Int.init) }
    }

    /// A hive partition value: Spark's escaping (`%XX` for the bytes a path cannot hold or that
    /// the convention reserves), and `.` and `..` escaped whole.
    static func escapePartitionValue(_ s: String) -> String {
        if s == "." || s == ".." { return String(repeating: "%2E", count: s.count) }
        let reserved: Set<UInt8> = Set("\"#%'*/:=?\\{[]^".utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in s.utf8 {
            if b < 0x20 || b == 0x7F || reserved.contains(b) {
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String { String(repeating: "0", count: Swift.max(0, n - count)) + self }
}

/// The state of one export: the open file, its row group being filled, the month it covers.
private struct ExportRun {
    let snapshot: Snapshot
    let table: Catalog.TableState
    let root: String
    let single: Bool
    let options: ParquetExportOptions
    let zone: ZoneRules?
    var result = ParquetExportResult()
    private var writer: ParquetFileWriter?
    private var fields: [ParquetFileWriter.Field] = []
    /// Per field: where its values come from (-1 symbol, -2 time, else a schema column).
    private var sources: [Int] = []
    private var buffers: [ColumnBuffer] = []
    private var buffered = 0
    /// The month the open file holds, [start, end) in the table's unit, when partitioned by month.
    private var month: (label: String, start: Int64, end: Int64)?
    private let background = RowGroupWriter()

    init(snapshot: Snapshot, table: Catalog.TableState, root: String, single: Bool, options: ParquetExportOptions, zone: ZoneRules?) {
        self.snapshot = snapshot
        self.table = table
        self.root = root
        self.single = single
        self.options = options
        self.zone = zone
    }

    mutating func add(_ batch: ScanBatch, symbol id: Int) throws(StrataError) {
        let times = batch.block.times
        var lo = batch.rows.lowerBound
        while lo < batch.rows.upperBound {
            var hi = batch.rows.upperBound
            if options.partitioning == .symbolMonth {
                if let m = month, times[lo] >= m.start && times[lo] < m.end {
                    hi = partitionPoint(in: lo..<hi) { times[$0] >= m.end }
                } else {
                    try closeFile()
                    month = monthOf(times[lo])
                    continue
                }
            }
            if writer == nil { try openFile(symbol: id) }
            hi = min(hi, lo + options.rowGroupRows - buffered)
            append(batch, id, lo..<hi)
            if buffered == options.rowGroupRows { try flushRowGroup() }
            lo = hi
        }
    }

    private mutating func append(_ batch: ScanBatch, _ id: Int, _ range: Range<Int>) {
        for (k, source) in sources.enumerated() {
            switch source {
            case -1: buffers[k].strings.append(contentsOf: repeatElement(table.symbols[id].name, count: range.count))
            case -2: buffers[k].bits.append(contentsOf: batch.block.times[range])
            default: batch.block.append(source, range, to: &buffers[k])
            }
        }
        buffered += range.count
    }

    /// Hands the filled row group to the writer thread (which encodes and writes it while the scan
    /// fills the next one) after the one before it is written.
    private mutating func flushRowGroup() throws(StrataError) {
        guard let writer, buffered > 0 else { return }
        try background.wait()
        background.start(writer, buffers, rows: buffered)
        buffers = fields.map { ColumnBuffer(type: $0.type) }
        result.rows += buffered
        buffered = 0
    }

    /// Waits for a row group still being written (after an error, when nothing else will).
    func settle() { try? background.wait() }

    mutating func closeFile() throws(StrataError) {
        guard let w = writer else { return }
        try flushRowGroup()
        try background.wait()
        result.bytes += try w.finish()
        writer = nil
    }

    /// A single-file export that selected no row still writes a valid file with the schema.
    mutating func writeEmptyFile() throws(StrataError) {
        try openFile(symbol: -1)
        try closeFile()
    }

    private mutating func openFile(symbol id: Int) throws(StrataError) {
        let path = try filePath(symbol: id)
        let (fields, sources) = layout(nullable: try nullableColumns(symbol: id))
        self.fields = fields
        self.sources = sources
        buffers = fields.map { ColumnBuffer(type: $0.type) }
        writer = try ParquetFileWriter(path: path, fields: fields, codec: options.codec, pageBytes: options.pageBytes)
        // The month in the path is the row's own time: an import of the data set leaves it out.
        if options.partitioning == .symbolMonth { writer?.keyValues.append((ParquetImporter.derivedPartitionsKey, "month")) }
        // The symbol, in the path, had this place among the columns: an import puts it back there.
        if options.partitioning != .none {
            writer?.keyValues.append((ParquetImporter.symbolPositionKey, String(table.schema.symbolPosition)))
        }
        result.files.append(path)
    }

    private func filePath(symbol id: Int) throws(StrataError) -> String {
        if single { return root }
        var dir = root
        if options.partitioning != .none {
            dir += "/symbol=" + ParquetExporter.escapePartitionValue(table.symbols[id].name)
            if let month { dir += "/month=" + month.label }
            try LocalFiles.makeDirectory(dir)
        }
        return dir + "/part-0.parquet"
    }

    /// The file's columns in the table's header order, the symbol left out when it is in the path.
    private func layout(nullable: [Bool]) -> ([ParquetFileWriter.Field], [Int]) {
        let s = table.schema
        var fields: [ParquetFileWriter.Field] = []
        var sources: [Int] = []
        for slot in s.headerLayout {
            switch slot {
            case .symbol:
                if options.partitioning != .none { continue }
                fields.append(.init(name: s.symbolColumn, type: .string, optional: false))
                sources.append(-1)
            case .time:
                fields.append(.init(name: s.timeColumn, type: .int64, optional: false, timeUnit: s.timeUnit))
                sources.append(-2)
            case .value(let c):
                fields.append(.init(name: s.columns[c].name, type: s.columns[c].type, optional: nullable[c]))
                sources.append(c)
            }
        }
        return (fields, sources)
    }

    /// Per value column: whether a block the file draws from holds a null in it (from the block
    /// headers: a null count, or no chunk at all). Required columns are then written without levels.
    private func nullableColumns(symbol id: Int) throws(StrataError) -> [Bool] {
        var nullable = [Bool](repeating: false, count: table.schema.columns.count)
        let ids = options.partitioning == .none || id < 0 ? try ParquetExporter.symbolIDs(table, options.symbols) : [id]
        let lo = max(options.from, month?.start ?? .min)
        let hi = min(options.to.map { $0 == .min ? .min : $0 - 1 } ?? .max, month.map { $0.end == .min ? .min : $0.end - 1 } ?? .max)
        for s in ids {
            let blocks = table.symbols[s].blocks
            var i = Snapshot.firstBlock(blocks, from: lo)
            while i < blocks.count, blocks[i].firstTime <= hi {
                let h = try snapshot.header(table, symbol: s, block: i)
                for (c, column) in table.schema.columns.enumerated() where !nullable[c] {
                    if let k = h.chunkIndex(columnID: column.id, hint: c + 1) { nullable[c] = h.nullCount(k) > 0 } else { nullable[c] = true }
                }
                i += 1
            }
        }
        return nullable
    }

    /// The month of `t` (in the table's unit): its label and its [start, end) in the table's unit.
    private func monthOf(_ t: Int64) -> (label: String, start: Int64, end: Int64) {
        let perSecond = table.schema.timeUnit.perSecond
        let seconds = floorDiv(t, perSecond)
        let local = seconds + (zone?.offset(at: seconds) ?? 0)
        let (year, month, _) = CivilDate.civilFromDays(floorDiv(local, 86_400))
        func instant(_ y: Int64, _ m: Int64) -> Int64 {
            let localStart = CivilDate.daysFromCivil(y, m, 1) * 86_400
            let s = zone?.utc(ofLocal: localStart) ?? localStart
            let (v, overflow) = s.multipliedReportingOverflow(by: perSecond)
            return overflow ? (s < 0 ? .min : .max) : v
        }
        let next = month == 12 ? (year + 1, Int64(1)) : (year, month + 1)
        let label = (year < 0 ? "-" : "") + String(abs(year)).leftPadded(to: 4) + "-" + String(month).leftPadded(to: 2)
        return (label, instant(year, month), instant(next.0, next.1))
    }
}


/// Writes one row group at a time on a thread of its own, so that encoding overlaps the scan.
private final class RowGroupWriter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "strata.parquet-export")
    private var group: DispatchGroup?
    /// Set by the writer thread, read after `group` is waited for.
    private var failure: StrataError?

    func start(_ writer: ParquetFileWriter, _ buffers: [ColumnBuffer], rows: Int) {
        let g = DispatchGroup()
        g.enter()
        group = g
        let job = Box((writer, buffers))
        queue.async {
            do throws(StrataError) {
                try job.value.0.writeRowGroup(job.value.1, 0..<rows)
            } catch {
                self.failure = error
            }
            g.leave()
        }
    }

    /// Waits for the row group in flight; rethrows its error.
    func wait() throws(StrataError) {
        group?.wait()
        group = nil
        if let failure {
            self.failure = nil
            throw failure
        }
    }
}
