import ArgumentParser
import Strata


struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a CSV file, a Parquet file or a directory of Parquet files into a table, in one commit: all rows or none.",
        discussion: """
            Creates the database and the table when missing, inferring the schema from the header and \
            the values of the whole file: a column whose first non-empty value is not a number holds \
            text (string); a column of integers only is int64; other numbers float64 (--types sets \
            types instead). An empty unquoted field is null ("" is an empty text). Appends to an \
            existing table in any time order: rows before, between or among the table's rows are merged \
            in (with --dedup tables, replacing the rows with the same symbol and time). Columns of the \
            table the file lacks are null in its rows; columns of the file the table lacks are refused \
            unless --add-columns adds them. Parquet (a .parquet file, a file starting with PAR1, or a \
            directory of them in the hive layout, key=value directories giving text columns): the \
            types come from the file's schema, times are converted exactly into the table's unit \
            (a new table takes the file's ms, us or ns).
            """
    )

    @Argument(help: "The database directory.") var database: String
    @Argument(help: "The table to import into.") var table: String
    @Argument(help: "The CSV file (with a header line), Parquet file, or directory of Parquet files (hive layout).") var file: String
    @Option(name: .customLong("time-unit"), help: "Unit of the time column: s, ms, us or ns (default ms for a new table).")
    var timeUnit: String?
    @Option(name: .customLong("symbol-column"), help: "Name of the symbol column.") var symbolColumn = "symbol"
    @Option(name: .customLong("time-column"), help: "Name of the time column.") var timeColumn = "ts"
    @Flag(help: "Create the table keyed by (symbol, time): one row per key, and every later write replaces the rows with its keys. Refused for an existing table created without it.")
    var dedup = false
    @Option(help: "Column types instead of inferred ones: NAME=TYPE[,NAME=TYPE]... (TYPE int64, float64 or string).")
    var types: String?
    @Flag(name: .customLong("add-columns"), help: "Add the file's columns that the table lacks (older rows read them as null).")
    var addColumns = false

    func validate() throws {
        if let timeUnit, TimeUnit(name: timeUnit) == nil {
            throw ValidationError("--time-unit must be s, ms, us or ns, not '\(timeUnit)'")
        }
        _ = try parsedTypes()
    }

    /// `--types` as a map; a malformed list is a usage error.
    func parsedTypes() throws -> [String: ColumnType] {
        guard let types else { return [:] }
        var out: [String: ColumnType] = [:]
        for item in types.split(separator: ",", omittingEmptySubsequences: false) {
            guard let eq = item.lastIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("--types takes NAME=TYPE[,NAME=TYPE]..., not '\(item)'")
            }
            let name = String(item[..<eq]), typeName = String(item[item.index(after: eq)...])
            guard let type = ColumnType(name: typeName) else {
                throw ValidationError("--types \(item): '\(typeName)' is not a type (int64, float64 or string)")
            }
            if out.updateValue(type, forKey: name) != nil { throw ValidationError("--types names column '\(name)' twice") }
        }
        return out
    }

    func run() throws {
        let options = CSVImportOptions(
            timeUnit: timeUnit.flatMap(TimeUnit.init(name:)), symbolColumn: symbolColumn, timeColumn: timeColumn, dedup: dedup,
            types: try parsedTypes(), addColumns: addColumns)
        let start = now()
        let bar = ProgressBar()
        let existed = LocalFiles.exists(database)
        let db = try Database.open(database)
        let result: CSVImportResult
        do {
            let report = bar.map { b in { b.update($0, $1) } }
            result = ParquetImporter.isParquet(file)
                ? try ParquetImporter.importPath(file, into: table, database: db, options: options, progress: report)
                : try CSVImporter.importFile(file, into: table, database: db, options: options, progress: report)
            db.close()
        } catch {
            bar?.finish()
            db.close()
            if !existed { Database.removeIfEmpty(database) }
            throw error
        }
        bar?.finish()
        let seconds = now() - start
        let rate = seconds > 0 ? " (\(formatRate(Double(result.rows) / seconds)) rows/s)" : ""
        let created = result.createdTable ? " (new table)" : ""
        print("imported \(result.rows) rows into \(table)\(created) from \(file) in \(formatSeconds(seconds))\(rate)")
    }
}

/// A progress bar on stderr, shown only on a terminal.
final class ProgressBar {
    private var lastDraw = 0.0
    private var drawn = false
    private let describe: (Int) -> String
    private let minimumTotal: Int

    /// `describe` says what the total is; work smaller than `minimumTotal` shows no bar.
    init?(describe: @escaping (Int) -> String = { "\($0 >> 20) MB" }, minimumTotal: Int = 32 << 20) {
        if !System.isTerminal(2) { return nil }
        self.describe = describe
        self.minimumTotal = minimumTotal
    }

    func update(_ done: Int, _ total: Int) {
        let t = now()
        if t - lastDraw < 0.2 && done < total { return }
        lastDraw = t
        if total < minimumTotal && !drawn { return }
        drawn = true
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileWriter.stderr.write("\r[\(bar)] \(Int(fraction * 100))% of \(describe(total))")
    }

    func finish() {
        if drawn { FileWriter.stderr.write("\n") }
    }
}
