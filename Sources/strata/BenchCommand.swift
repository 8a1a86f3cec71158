import ArgumentParser
import Strata
import StrataTools

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the standard query suite (Q1-Q10) on a database with a bars-shaped table.",
        discussion: """
            The table needs open, high, low, close, volume and amount columns; Q8 also needs a table with a \
            shares column (--join-table). The parameters come from the data: the symbol with the most rows, \
            its middle day and that day's month, and 10:17:30.5 local on the day three quarters in. Each query \
            runs once to warm up, then --runs times in this process; the table gives the median and p90 of \
            those runs and rows read per second at the median (rows in the query's range / time).
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, jsonl
    }

    @Argument(help: "The database directory.") var database: String
    @Option(help: "The bars-shaped table.") var table = "bars"
    @Option(name: .customLong("join-table"), help: "The table joined as-of in Q8 (needs a shares column).") var joinTable = "fund_shares"
    @Option(name: .customLong("time-zone"), help: "The time zone days are cut in (tz database name).") var timeZone = "UTC"
    @Option(help: "Timed runs per query.") var runs = 10
    @Option(help: "Only these queries (comma-separated ids, e.g. q1,q6).") var only: String?
    @Option(help: "Output: table (for people) or jsonl (one object per query, with its answer rows).") var format: Format = .table
    @Flag(name: .customLong("no-warm-up"), help: "Skip the untimed first run (to time a cold run, e.g. after dropping the page cache).")
    var noWarmUp = false

    func run() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        let db = try Database.open(database, options: .readOnly)
        let snap = try db.snapshot()
        let suite = try BenchSuite.standard(snap, table: table, joinTable: joinTable, timeZone: timeZone)
        let wanted = only.map { Set($0.split(separator: ",").map { $0.trimmingSpaces.lowercased() }) }
        if let wanted, let unknown = wanted.first(where: { w in !suite.items.contains { $0.id == w } }) {
            throw ValidationError("unknown query id \(unknown) (this suite has \(suite.items.map(\.id).joined(separator: ", ")))")
        }
        let out = FileWriter.standardOutput()
        let p = suite.parameters
        if format == .table {
            out.write("table \(suite.table), symbol \(p.symbol), day [\(p.dayLow), \(p.dayHigh)), month [\(p.monthLow), \(p.monthHigh)), T \(p.asOf), days cut in \(p.timeZone); \(runs) runs each\n")
        } else {
            out.write("{\"params\":{\"symbol\":\(jsonString(p.symbol)),\"day_lo\":\(p.dayLow),\"day_hi\":\(p.dayHigh),\"month_lo\":\(p.monthLow),\"month_hi\":\(p.monthHigh),\"asof_ts\":\(p.asOf),\"time_zone\":\(jsonString(p.timeZone))}}\n")
        }
        var rows: [[String]] = [["query", "what", "rows out", "median ms", "p90 ms", "rows read/s"]]
        for item in suite.items where wanted?.contains(item.id) ?? true {
            let query = try SQLParser.parse(item.sql)
            let read = try snap.query(item.countSQL)[0, 0]
            let rowsRead: Int64 = if case .int(let n) = read { n } else { 0 }
            var answer = noWarmUp ? QueryResult(names: [], columns: []) : try snap.query(query)  // the warm-up run
            var times: [Double] = []
            for _ in 0..<runs {
                let start = now()
                answer = try snap.query(query)
                times.append(now() - start)
            }
            times.sort()
            let median = times[times.count / 2]
            let p90 = times[min(times.count - 1, Int((Double(times.count) * 0.9).rounded(.up)) - 1)]
            let rate = median > 0 ? Double(rowsRead) / median : 0
            switch format {
            case .table:
                rows.append([item.id, item.what, String(answer.rowCount), formatMilliseconds(median * 1000), formatMilliseconds(p90 * 1000), formatRate(rate)])
            case .jsonl:
                let values = answer.rows.map { "[" + $0.map(jsonValue).joined(separator: ",") + "]" }.joined(separator: ",")
                out.write("{\"query\":\"\(item.id)\",\"what\":\(jsonString(item.what)),\"sql\":\(jsonString(item.sql)),\"rows_read\":\(rowsRead),\"median_ms\":\(median * 1000),\"p90_ms\":\(p90 * 1000),\"times_ms\":[\(times.map { String($0 * 1000) }.joined(separator: ","))],\"rows\":[\(values)]}\n")
            }
        }
        if format == .table {
            let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
            for r in rows {
                let cells = r.enumerated().map { c, v in
                    c < 2 ? v + String(repeating: " ", count: widths[c] - v.count) : String(repeating: " ", count: widths[c] - v.count) + v
                }
                out.write(cells.joined(separator: "  ") + "\n")
            }
        }
        out.flush()
    }
}

private func jsonValue(_ v: ResultValue) -> String {
    switch v {
    case .null: "null"
    case .int(let x): String(x)
    case .float(let d): d.isFinite ? "\(d)" : "null"
    case .string(let s): jsonString(s)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String { String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}
