import Strata

/// The standard query suite: the ten reference queries (Q1–Q10 of the peers' `queries.md`) written for
/// any database with a bars-shaped table, their parameters taken from the data. `strata bench` runs it;
/// the comparison harness times Strata through it.
public struct BenchSuite: Sendable {
    public struct Item: Sendable {
        /// `q1` … `q10`.
        public var id: String
        public var what: String
        public var sql: String
        /// A query counting the rows the item reads (for rows per second).
        public var countSQL: String
    }

    /// The parameters, as in `queries.md`: the symbol, the day [D0, D1), the month [M0, M1) and the
    /// as-of time T (all in the table's time unit), and the time zone days are cut in.
    public struct Parameters: Sendable {
        public var symbol: String
        public var dayLow: Int64, dayHigh: Int64
        public var monthLow: Int64, monthHigh: Int64
        public var asOf: Int64
        public var timeZone: String
    }

    public var table: String
    public var parameters: Parameters
    public var items: [Item]

    /// The columns a bars-shaped table has besides its symbol and time.
    public static let barColumns = ["open", "high", "low", "close", "volume", "amount"]

    /// Builds the suite for `table` of `snapshot`. `joinTable` (a table with a `shares` column, such as
    /// fund shares) gives Q8; without one Q8 is left out. Days are cut at midnight in `timeZone`.
    public static func standard(
        _ snapshot: Snapshot, table: String = "bars", joinTable: String? = "fund_shares", timeZone: String = "UTC"
    ) throws(StrataError) -> BenchSuite {
        guard let schema = snapshot.schema(of: table) else {
            throw .badInput("no table named \(table) (tables: \(snapshot.tables.joined(separator: ", ")))")
        }
        let missing = barColumns.filter { schema.columnIndex($0) == nil }
        if !missing.isEmpty {
            throw .badInput("table \(table) is not bars-shaped: it has no column \(missing.joined(separator: ", ")) (a bars table has \(barColumns.joined(separator: ", ")))")
        }
        let zone = try ZoneRules.load(timeZone)
        let symbol = try busiestSymbol(snapshot, table: table)
        let p = try parameters(snapshot, table: table, symbol: symbol, unit: schema.timeUnit.perSecond, zone: zone, timeZone: timeZone)
        let items = queries(snapshot, table: table, symbol: symbol, schema: schema, p, joinTable: joinTable)
        return BenchSuite(table: table, parameters: p, items: items)
    }

    /// The symbol with the most rows (the first in byte order among equals).
    private static func busiestSymbol(_ snapshot: Snapshot, table: String) throws(StrataError) -> String {
        var best: (name: String, rows: Int)? = nil
        for name in snapshot.symbols(of: table) {  // in byte order
            let rows = snapshot.rowCount(table, symbol: name)
            if rows > 0 && (best == nil || rows > best!.rows) { best = (name, rows) }
        }
        guard let symbol = best?.name else { throw .badInput("table \(table) has no rows to benchmark") }
        return symbol
    }

    /// The day, month and as-of time, from the local calendar days holding rows of `symbol`.
    private static func parameters(
        _ snapshot: Snapshot, table: String, symbol: String, unit: Int64, zone: ZoneRules, timeZone: String
    ) throws(StrataError) -> Parameters {
        var days: [Int64] = []
        do {
            try snapshot.scan(table, symbol: symbol, columns: []) { batch in
                for time in try batch.times {
                    let sec = floorDiv(time, unit)
                    let day = floorDiv(sec + zone.offset(at: sec), 86_400)
                    if days.last != day { days.append(day) }
                }
            }
        } catch let e as StrataError {
            throw e
        } catch {
            throw .badInput("\(error)")
        }
        func midnight(_ day: Int64) -> Int64 { zone.utc(ofLocal: day * 86_400) * unit }
        let day = days[days.count / 2]
        let (y, m, _) = CivilDate.civilFromDays(day)
        let first = CivilDate.daysFromCivil(y, m, 1)
        let next = m == 12 ? CivilDate.daysFromCivil(y + 1, 1, 1) : CivilDate.daysFromCivil(y, m + 1, 1)
        let asOfDay = days[3 * days.count / 4]
        let asOfLocal = asOfDay * 86_400 + 10 * 3600 + 17 * 60 + 30  // 10:17:30.500 local
        return Parameters(
            symbol: symbol, dayLow: midnight(day), dayHigh: midnight(day + 1), monthLow: midnight(first), monthHigh: midnight(next),
            asOf: zone.utc(ofLocal: asOfLocal) * unit + unit / 2, timeZone: timeZone)
    }

    /// Q1-Q10 written for `table` with parameters `p`.
    private static func queries(
        _ snapshot: Snapshot, table: String, symbol: String, schema: Schema, _ p: Parameters, joinTable: String?
    ) -> [Item] {
        let timeZone = p.timeZone
        let sym = schema.symbolColumn, ts = schema.timeColumn
        let q = "'" + symbol.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
        let align = timeZone == "UTC" ? "" : " ALIGN TO CALENDAR TIME ZONE '\(timeZone)'"
        var items: [Item] = [
            Item(id: "q1", what: "sum(volume), 1 symbol", sql: "SELECT sum(volume) FROM \(table) WHERE \(sym) = \(q)",
                 countSQL: "SELECT count(*) FROM \(table) WHERE \(sym) = \(q)"),
            Item(id: "q2", what: "one symbol-day, all columns",
                 sql: "SELECT \(ts), open, high, low, close, volume, amount FROM \(table) WHERE \(sym) = \(q) AND \(ts) >= \(p.dayLow) AND \(ts) < \(p.dayHigh) ORDER BY \(ts)",
                 countSQL: "SELECT count(*) FROM \(table) WHERE \(sym) = \(q) AND \(ts) >= \(p.dayLow) AND \(ts) < \(p.dayHigh)"),
            Item(id: "q3", what: "month min/max/first/last, 1 symbol",
                 sql: "SELECT min(low), max(high), first(open), last(close), count(*) FROM \(table) WHERE \(sym) = \(q) AND \(ts) >= \(p.monthLow) AND \(ts) < \(p.monthHigh)",
                 countSQL: "SELECT count(*) FROM \(table) WHERE \(sym) = \(q) AND \(ts) >= \(p.monthLow) AND \(ts) < \(p.monthHigh)"),
            Item(id: "q4", what: "monthly VWAP, all symbols",
                 sql: "SELECT * FROM (SELECT \(sym), sum(amount) AS a, sum(volume) AS v, sum(amount) / sum(volume) AS vwap FROM \(table) WHERE \(ts) >= \(p.monthLow) AND \(ts) < \(p.monthHigh)) WHERE v > 0 ORDER BY \(sym)",
                 countSQL: "SELECT count(*) FROM \(table) WHERE \(ts) >= \(p.monthLow) AND \(ts) < \(p.monthHigh)"),
            Item(id: "q5", what: "1-hour OHLCV, 1 symbol",
                 sql: "SELECT \(ts), first(open), max(high), min(low), last(close), sum(volume), sum(amount) FROM \(table) WHERE \(sym) = \(q) SAMPLE BY 1h",
                 countSQL: "SELECT count(*) FROM \(table) WHERE \(sym) = \(q)"),
            Item(id: "q6", what: "daily OHLCV, all symbols",
                 sql: "SELECT \(sym), \(ts), first(open), max(high), min(low), last(close), sum(volume), sum(amount) FROM \(table) SAMPLE BY 1d\(align)",
                 countSQL: "SELECT count(*) FROM \(table)"),
            Item(id: "q7", what: "latest row per symbol at T",
                 sql: "SELECT \(sym), \(ts), close FROM \(table) WHERE \(ts) <= \(p.asOf) LATEST ON \(ts) PARTITION BY \(sym)",
                 countSQL: "SELECT count(*) FROM \(table) WHERE \(ts) <= \(p.asOf)"),
        ]
        if let joinTable, let j = snapshot.schema(of: joinTable), j.columnIndex("shares") != nil {
            items.append(Item(
                id: "q8", what: "as-of join with \(joinTable)",
                sql: "SELECT count(*), count(f.shares), sum(b.close * f.shares) FROM \(table) b ASOF JOIN \(joinTable) f ON (\(sym)) WHERE b.\(sym) = \(q)",
                countSQL: "SELECT count(*) FROM \(table) WHERE \(sym) = \(q)"))
        }
        items.append(Item(id: "q9", what: "rows per symbol", sql: "SELECT \(sym), count(*) FROM \(table) GROUP BY \(sym)",
                          countSQL: "SELECT count(*) FROM \(table)"))
        items.append(Item(id: "q10", what: "sum(amount), full table", sql: "SELECT sum(amount), count(*) FROM \(table)",
                          countSQL: "SELECT count(*) FROM \(table)"))
        return items
    }
}
