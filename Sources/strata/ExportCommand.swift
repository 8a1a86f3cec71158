import ArgumentParser
import Strata

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a table's rows as Parquet (one file, or a hive-partitioned data set) or CSV.",
        discussion: """
            Parquet: with --partition none, OUT is a file when it ends in .parquet, else a directory \
            holding part-0.parquet. With --partition symbol or symbol,month, OUT is a directory of \
            OUT/symbol=S[/month=YYYY-MM]/part-0.parquet (the hive layout of Spark and DuckDB); the \
            partition columns are in the path, not in the files, and a symbol is percent-encoded where \
            a path needs it. Months are those of the row's UTC time unless --time-zone is given. An \
            output directory must be new or empty. Readers must be told that symbol is text: DuckDB \
            hive_types = {'symbol': 'VARCHAR'}, Spark partitionColumnTypeInference.enabled=false. \
            CSV: one file, as `strata dump` writes it. --symbol, --from and --to select rows as for dump.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case parquet, csv
    }

    @Argument(help: "The database directory.") var database: String
    @Argument(help: "The table to export.") var table: String
    @Argument(help: "The output file or directory.") var out: String
    @Option(help: "Output format: parquet or csv.") var format: Format = .parquet
    @Option(help: "Parquet layout: none, symbol or symbol,month.") var partition: String = "none"
    @Option(name: .customLong("symbol"), help: "A symbol to export (repeatable; default all).") var symbols: [String] = []
    @Option(help: "Start of the time range, inclusive.") var from: String?
    @Option(help: "End of the time range, exclusive.") var to: String?
    @Option(help: "Parquet page compression: zstd, lz4 (LZ4_RAW) or none.") var codec: String = "zstd"
    @Option(name: .customLong("time-zone"), help: "The tz database zone months are cut in for --partition symbol,month (default UTC).")
    var timeZone: String?

    func validate() throws {
        guard let layout = ParquetPartitioning(rawValue: partition) else {
            throw ValidationError("--partition must be none, symbol or symbol,month, not '\(partition)'")
        }
        if ParquetCodec(writing: codec) == nil { throw ValidationError("--codec must be zstd, lz4 or none, not '\(codec)'") }
        if format == .csv && layout != .none { throw ValidationError("--partition is for Parquet; CSV is one file") }
    }

    func run() throws {
        let (snap, schema) = try readTable(database, table)
        let lo = try parseTime(from, unit: schema.timeUnit) ?? .min
        let hi = try parseTime(to, unit: schema.timeUnit)
        let start = now()
        var result = ParquetExportResult()
        if format == .csv {
            let file = try FileWriter.creating(out)
            result.rows = try DumpCommand.writeRows(snap, table: table, schema: schema, symbols: symbols, from: lo, to: hi, format: .csv, to: file)
            result.bytes = Int(file.position)
            try file.finish()
            result.files = [out]
        } else {
            var options = ParquetExportOptions()
            options.symbols = symbols
            options.from = lo
            options.to = hi
            options.partitioning = ParquetPartitioning(rawValue: partition)!
            options.codec = ParquetCodec(writing: codec)!
            options.timeZone = timeZone
            let bar = ProgressBar(describe: { "\($0) rows" }, minimumTotal: 1 << 22)
            result = try ParquetExporter.export(snap, table: table, to: out, options: options, progress: bar.map { b in { b.update($0, $1) } })
            bar?.finish()
        }
        let seconds = now() - start
        let rate = seconds > 0 ? " (\(formatRate(Double(result.rows) / seconds)) rows/s)" : ""
        let files = result.files.count == 1 ? "1 file" : "\(result.files.count) files"
        print("exported \(result.rows) rows of \(table) to \(out): \(files), \(result.bytes) bytes, in \(formatSeconds(seconds))\(rate)")
    }
}
