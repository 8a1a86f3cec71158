import ArgumentParser
import Strata


struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run a query in Strata's SQL dialect (modelled on QuestDB's).",
        discussion: """
            [EXPLAIN] SELECT item [, item]... FROM source [alias] [ASOF JOIN table [alias] ON (symbol)] \
            [WHERE condition [AND condition]...] \
            [SAMPLE BY n{s|m|h|d} [ALIGN TO CALENDAR [TIME ZONE 'Area/City'] | ALIGN TO SESSION 'CAL'] [FILL(NONE|NULL|PREV|LINEAR|constant)]] \
            [LATEST ON ts PARTITION BY symbol] [GROUP BY expr [, expr]...] [WINDOW name AS (window) [, ...]] \
            [ORDER BY expr [ASC|DESC] [, ...]] [LIMIT n]

            Aggregates: count(*), count(col), sum, avg, min, max, first, last (by time), vwap(price, volume), \
            weighted_avg, twap, stddev, stddev_pop, variance, var_pop, median, quantile_cont, quantile_disc. \
            Windows: lag, lead, first_value, last_value, row_number, ema and the aggregates OVER (PARTITION BY ... \
            ORDER BY ... ROWS|RANGE ...). Functions: ln, log10, exp, sqrt, abs, floor, ceil, round, coalesce, \
            CASE WHEN, SESSION 'CAL'. \
            Times in conditions are integers in the table's unit or ISO-8601 strings. \
            Output: table (aligned; the default on a terminal), csv (the default otherwise; null is an empty \
            field) or jsonl (one object per row, keys in select-list order; null, NaN and infinities as null).
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, jsonl
    }

    @Argument(help: "The database directory.") var database: String
    @Argument(help: "The query.") var sql: String
    @Option(help: "Output format: table, csv or jsonl.") var format: Format?
    @Flag(help: "Print the execution time (parsed query to last row) on stderr as 'time: <ms> ms'.") var timing = false
    @Option(name: .customLong("repeat"), help: "Run the query this many times in this process, print its rows once, and time the median run (for benchmarks).")
    var repetitions: Int = 1

    func run() throws {
        guard repetitions >= 1 else { throw ValidationError("--repeat must be at least 1") }
        try Self.run(database: database, sql: sql, format: format, timing: timing, repetitions: repetitions)
    }

    /// The arguments of `strata query` read by hand when they are plainly valid: two positional
    /// arguments and the options above, each once (`--format F`, `--format=F`, `--timing`,
    /// `--repeat N`, `--repeat=N` with N ≥ 1). A script runs one `strata query` process per question,
    /// and ArgumentParser's reflection over the options was over half of a point query's process
    /// (BENCHMARKS.md). Anything else (help, an error, a dash-led positional) returns nil and goes
    /// through ArgumentParser, so its messages and exit codes stay as they are.
    static func plainArguments(_ args: [String]) -> (database: String, sql: String, format: Format?, timing: Bool, repetitions: Int)? {
        var positional: [String] = []
        var format: Format? = nil, timing = false, repetitions: Int? = nil
        var i = 0
        func value(_ name: String) -> String? {
            let arg = args[i]
            if arg.hasPrefix(name + "=") { return String(arg.dropFirst(name.count + 1)) }
            guard arg == name, i + 1 < args.count else { return nil }
            i += 1
            return args[i]
        }
        while i < args.count {
            let arg = args[i]
            if arg == "--timing" {
                if timing { return nil }
                timing = true
            } else if arg == "--format" || arg.hasPrefix("--format=") {
                guard format == nil, let v = value("--format"), let f = Format(rawValue: v) else { return nil }
                format = f
            } else if arg == "--repeat" || arg.hasPrefix("--repeat=") {
                guard repetitions == nil, let v = value("--repeat"), let n = Int(v), n >= 1 else { return nil }
                repetitions = n
            } else if arg.hasPrefix("-") {
                return nil
            } else {
                positional.append(arg)
            }
            i += 1
        }
        guard positional.count == 2 else { return nil }
        return (positional[0], positional[1], format, timing, repetitions ?? 1)
    }

    static func run(database: String, sql: String, format: Format?, timing: Bool, repetitions: Int) throws {
        let query = try SQLParser.parse(sql)
        let db = try Database.open(database, options: .readOnly)
        let snap = try db.snapshot()
        let format = format ?? (System.isTerminal(1) ? .table : .csv)
        let out = FileWriter.standardOutput()
        var printer = ResultPrinter(format: format, out: out)
        var times: [Double] = []
        for _ in 1..<repetitions {
            let start = now()
            try snap.query(query, batchRows: 8_192) { (_) throws(StrataError) in }
            times.append(now() - start)
        }
        let start = now()
        try snap.query(query, batchRows: format == .table ? 100_000 : 8_192) { (batch) throws(StrataError) in
            printer.print(batch)
        }
        times.append(now() - start)
        let elapsed = times.sorted()[times.count / 2]
        printer.finish()
        out.flush()
        if timing {
            FileWriter.stderr.write("time: \(formatMilliseconds(elapsed * 1000)) ms\n")
        }
        // The process ends next: tearing the catalog down would cost more than the query (4.5 M
        // instructions for 4,000 blocks), and a read-only handle holds nothing the exit must release.
        _ = Unmanaged.passRetained(db)
    }
}

func formatMilliseconds(_ ms: Double) -> String {
    let hundredths = Int((ms * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}

/// Writes result batches as an aligned table, CSV or JSON lines.
struct ResultPrinter {
    let format: QueryCommand.Format
    let out: FileWriter
    private var widths: [Int]? = nil
    private var headerDone = false
    /// CSV: the decimal places each float column's values took so far (`OutputFile.append(shortest:scaleHint:)`).
    private var csvHints: [Int] = []
    private var rows = 0

    init(format: QueryCommand.Format, out: FileWriter) {
        self.format = format
        self.out = out
    }

    /// A value as a cell of the aligned table (CSV and JSON lines are written value by value).
    static func tableText(_ v: ResultValue) -> String {
        switch v {
        case .null: "null"
        case .int(let x): String(x)
        case .float(let d): d.description
        case .string(let s): s
        }
    }

    mutating func print(_ r: QueryResult) {
        switch format {
        case .csv:
            if !headerDone {
                // Name by name: the generic `joined(separator:)` looked a conformance up through
                // the runtime on its first call in a process.
                for (c, name) in r.names.enumerated() {
                    if c > 0 { out.byte(UInt8(ascii: ",")) }
                    out.write(csvField(name))
                }
                out.endRecord()
                headerDone = true
            }
            if csvHints.count != r.columns.count { csvHints = [Int](repeating: 0, count: r.columns.count) }
            out.csvRows(r, hints: &csvHints)  // "" for an empty text: an empty field is a null
        case .jsonl:
            let keys = r.names.map { jsonString($0) + ":" }
            var hints = [Int](repeating: 0, count: r.columns.count)
            for row in 0..<r.rowCount {
                out.byte(UInt8(ascii: "{"))
                for c in r.columns.indices {
                    if c > 0 { out.byte(UInt8(ascii: ",")) }
                    out.write(keys[c])
                    switch r[row, c] {
                    case .null: out.write("null")
                    case .int(let x): out.int(x)
                    case .float(let d): out.double(d, json: true, scaleHint: &hints[c])
                    case .string(let s): out.write(jsonString(s))
                    }
                }
                out.byte(UInt8(ascii: "}"))
                out.endRecord()
            }
        case .table:
            let cells = (0..<r.rowCount).map { row in r.columns.indices.map { Self.tableText(r[row, $0]) } }
            if widths == nil {
                var w = r.names.map(\.count)
                for row in cells { for (c, s) in row.enumerated() { w[c] = max(w[c], s.count) } }
                widths = w
                line(r.names, r.types.map { _ in false })
                out.write(widths!.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
                out.endRecord()
            }
            let numeric = r.types.map { $0 != .string }
            for row in cells { line(row, numeric) }
            rows += r.rowCount
        }
    }

    private func line(_ cells: [String], _ rightAligned: [Bool]) {
        var parts: [String] = []
        for (c, s) in cells.enumerated() {
            let pad = String(repeating: " ", count: max(0, widths![c] - s.count))
            parts.append(rightAligned[c] ? pad + s : (c == cells.count - 1 ? s : s + pad))
        }
        out.write(parts.joined(separator: "  "))
        out.endRecord()
    }

    func finish() {
        if format == .table {
            out.write("(\(rows) row\(rows == 1 ? "" : "s"))")
            out.endRecord()
        }
    }
}
