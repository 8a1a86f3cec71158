import ArgumentParser
import Strata


struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a CSV file into a table, in one commit: all rows or none.",
        discussion: """
            Creates the database and the table when missing, inferring the schema from the header and \
            the values of the whole file (columns whose values are all integers become int64, other \
            numbers float64). Appends to an existing table whose columns match, in any time order: rows \
            before, between or among the table's rows are merged in (with --dedup tables, replacing the \
            rows with the same symbol and time).
            """
    )

    @Argument(help: "The database directory.") var database: String
    @Argument(help: "The table to import into.") var table: String
    @Argument(help: "The CSV file, with a header line.") var file: String
    @Option(name: .customLong("time-unit"), help: "Unit of the time column: s, ms, us or ns (default ms for a new table).")
    var timeUnit: String?
    @Option(name: .customLong("symbol-column"), help: "Name of the symbol column.") var symbolColumn = "symbol"
    @Option(name: .customLong("time-column"), help: "Name of the time column.") var timeColumn = "ts"
    @Flag(help: "Create the table keyed by (symbol, time): one row per key, and every later write replaces the rows with its keys. Refused for an existing table created without it.")
    var dedup = false

    func validate() throws {
        if let timeUnit, TimeUnit(name: timeUnit) == nil {
            throw ValidationError("--time-unit must be s, ms, us or ns, not '\(timeUnit)'")
        }
    }

    func run() throws {
        let options = CSVImportOptions(
            timeUnit: timeUnit.flatMap(TimeUnit.init(name:)), symbolColumn: symbolColumn, timeColumn: timeColumn, dedup: dedup)
        let start = now()
        let bar = ProgressBar()
        let existed = LocalFiles.exists(database)
        let db = try Database.open(database)
        let result: CSVImportResult
        do {
            result = try CSVImporter.importFile(
                file, into: table, database: db, options: options, progress: bar.map { b in { b.update($0, $1) } })
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
