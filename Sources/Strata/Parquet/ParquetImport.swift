import Dispatch

/// Imports a Parquet file, or a directory of them (a hive layout: `key=value` directories give
/// columns), into a table in one transaction: all rows or none. The symbol and time columns are found
/// by name as for CSV (`CSVImportOptions`); the table's types come from the files' schema. At most
/// three row groups are held decoded: the one being appended and the next two (decoding meanwhile).
public enum ParquetImporter {
    /// The key-value metadata entry in which Strata's export names partition columns that are derived
    /// from a row's own values (the month): an import of such a data set does not make them columns.
    static let derivedPartitionsKey = "strata.derived_partitions"
    /// The key-value metadata entry giving the place of a symbol column that the export moved into
    /// the path (so that an import restores the column order).
    static let symbolPositionKey = "strata.symbol_position"

    /// Whether `path` is Parquet to import: a directory, a `.parquet` file, or a file that starts
    /// with the PAR1 magic.
    public static func isParquet(_ path: String) -> Bool {
        if LocalFiles.isDirectory(path) || path.hasSuffix(".parquet") { return true }
        let fs = PosixFileSystem()
        guard let h = try? fs.open(path, create: false, writable: false) else { return false }
        defer { fs.close(h) }
        var magic = [UInt8](repeating: 0, count: 4)
        let n = (try? magic.withMutableBytes { (p) throws(StrataError) in try fs.read(h, into: p, at: 0) }) ?? 0
        return n == 4 && magic == Array("PAR1".utf8)
    }

    /// Imports `path` into `table` in its own transaction of `database`.
    public static func importPath(
        _ path: String, into table: String, database: Database, options: CSVImportOptions = CSVImportOptions(),
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> CSVImportResult {
        try database.write { tx in try run(path, into: table, transaction: tx, options: options, progress: progress) }
    }

    /// Imports `path` into `table` within the caller's transaction.
    public static func run(
        _ path: String, into table: String, transaction tx: Transaction, options: CSVImportOptions = CSVImportOptions(),
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws(StrataError) -> CSVImportResult {
        try Schema.validateTableName(table)
        let files = try ParquetDataSet.files(path)
        // Each footer is parsed once: for the plan (every file's columns), then for the rows.
        var parsed: [ParquetFile] = []
        for file in files { parsed.append(try ParquetFile(path: file.path)) }
        var plan = try ParquetImportPlan(files: files, parsed: parsed, root: path, table: table, options: options, tx: tx)
        let total = files.reduce(0) { $0 + $1.bytes }
        var done = 0
        let groups = zip(files, parsed).flatMap { file, parquet in parquet.rowGroups.indices.map { (file, parquet, $0) } }
        // Row group k decodes on ahead[k % 2], two ahead of the one being appended: with one, the
        // appends (which feed the block encoders) waited for each decode, and the encoders for them.
        let ahead = [DecodeAhead(), DecodeAhead()]
        defer { for a in ahead { a.finish() } }
        func decode(_ k: Int) {
            let (file, parquet, g) = groups[k]
            ahead[k % 2].start { [plan] () throws(StrataError) in try plan.decode(parquet, rowGroup: g, partitions: file.partitions) }
        }
        for k in 0..<min(2, groups.count) { decode(k) }
        for (k, (_, parquet, g)) in groups.enumerated() {
            let rows = try ahead[k % 2].take()
            if k + 2 < groups.count { decode(k + 2) }
            try plan.append(rows, of: parquet, rowGroup: g, tx: tx)
            parquet.release(through: g)
            done += parquet.rowGroups[g].chunks.reduce(0) { $0 + $1.range.count }
            progress?(min(done, total), total)
        }
        progress?(total, total)
        return CSVImportResult(rows: plan.rows, createdTable: plan.created, schema: plan.schema)
    }
}

/// Decodes one row group on a thread of its own while the importer appends the previous one.
private final class DecodeAhead: @unchecked Sendable {
    private let queue = DispatchQueue(label: "strata.parquet-import")
    private let ready = DispatchSemaphore(value: 0)
    /// Written by the queue before `ready` is signalled, read after it is waited for.
    private var result: Result<ParquetImportPlan.RowGroupRows, StrataError>?
    private var pending = false

    func start(_ decode: @escaping () throws(StrataError) -> ParquetImportPlan.RowGroupRows) {
        precondition(!pending)
        pending = true
        let work = Box(decode)
        queue.async {
            do throws(StrataError) { self.result = .success(try work.value()) } catch { self.result = .failure(error) }
            self.ready.signal()
        }
    }

    /// The row group started last, once decoded; its error if it had one.
    func take() throws(StrataError) -> ParquetImportPlan.RowGroupRows {
        precondition(pending)
        ready.wait()
        pending = false
        defer { result = nil }
        return try result!.get()
    }

    /// Waits for a decode still running (the import stopped on an error) before the files go.
    func finish() {
        if pending { _ = try? take() }
    }
}

/// The files of a data set, with the partition values their paths give.
struct ParquetDataSet {
    struct File {
        var path: String
        var partitions: [(name: String, value: String)]
        var bytes: Int
    }

    /// `path` itself, or every `.parquet` file under it in path order (names starting with `.` or
    /// `_`, like `_SUCCESS` and `.crc` files, are skipped).
    static func files(_ path: String) throws(StrataError) -> [File] {
        if !LocalFiles.exists(path) { throw .badInput("\(path) does not exist") }
        if !LocalFiles.isDirectory(path) { return [File(path: path, partitions: [], bytes: try size(path))] }
        var out: [File] = []
        try walk(path, partitions: [], into: &out)
        if out.isEmpty { throw .badInput("\(path) is a directory holding no .parquet file (a CSV import takes a file)") }
        return out
    }

    private static func walk(_ dir: String, partitions: [(name: String, value: String)], into out: inout [File]) throws(StrataError) {
        for name in try LocalFiles.list(dir).sorted(by: utf8Less) where !name.hasPrefix(".") && !name.hasPrefix("_") {
            let path = dir + "/" + name
            if LocalFiles.isDirectory(path) {
                var more = partitions
                if let eq = name.firstIndex(of: "=") {
                    let key = String(name[..<eq])
                    guard let value = percentDecoded(String(name[name.index(after: eq)...])) else {
                        throw .badInput("\(path): the partition value is not valid percent-encoded UTF-8")
                    }
                    if partitions.contains(where: { $0.name == key }) { throw .badInput("\(path): partition \(key) appears twice in the path") }
                    more.append((key, value))
                }
                try walk(path, partitions: more, into: &out)
            } else if name.hasSuffix(".parquet") {
                out.append(File(path: path, partitions: partitions, bytes: try size(path)))
            }
        }
    }

    private static func size(_ path: String) throws(StrataError) -> Int {
        let fs = PosixFileSystem()
        let h = try fs.open(path, create: false, writable: false)
        defer { fs.close(h) }
        return Int(try fs.size(h))
    }

    /// `%XX` escapes undone (as Spark and DuckDB write them).
    static func percentDecoded(_ s: String) -> String? {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%"), bytes.count >= 2, let hi = hex(bytes[bytes.startIndex]), let lo = hex(bytes[bytes.startIndex + 1]) {
                out.append(hi << 4 | lo)
                bytes.removeFirst(2)
            } else {
                out.append(b)
            }
        }
        return out.withUnsafeBytes { validUTF8($0) }
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
