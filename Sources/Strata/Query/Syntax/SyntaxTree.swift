/// A query: what the SQL dialect of `strata query` parses into, and what Swift code builds directly.
/// `Snapshot.query` plans and runs it. The shape follows the dialect:
///
///     SELECT items FROM source [ASOF JOIN table ON (symbol)] [WHERE ...] [SAMPLE BY ...]
///       [LATEST ON ts PARTITION BY symbol] [GROUP BY ...] [ORDER BY ...] [LIMIT n]
public struct Query: Sendable {
    /// The select list.
    public var items: [SelectItem]
    /// What rows come from: a table or a subquery.
    public var source: Source
    /// An `ASOF JOIN` of another table, if any.
    public var asofJoin: Join?
    /// The `WHERE` conditions, all of which must hold.
    public var conditions: [Condition]
    /// Time buckets (`SAMPLE BY`), if any.
    public var sampleBy: SampleBy?
    /// Whether the query keeps only the last row per symbol (`LATEST ON`).
    public var latestOn = false
    /// The `GROUP BY` keys.
    public var groupBy: [Expr] = []
    /// The `ORDER BY` keys.
    public var orderBy: [OrderItem] = []
    /// The most rows returned (`LIMIT`).
    public var limit: Int?
    /// As written in SQL (`ON (symbol)`, `LATEST ON ts PARTITION BY symbol`): checked against the
    /// source's symbol and time columns. nil means those columns.
    public var joinKey: String?
    /// The time column named in `LATEST ON` (nil: the source's).
    public var latestOnColumn: String?
    /// The column named in `PARTITION BY` (nil: the source's symbol).
    public var partitionColumn: String?
    /// Named windows (`WINDOW name AS (...)`), in the order written.
    public var windows: [(name: String, spec: WindowSpec)] = []
    /// `EXPLAIN`: describe the plan instead of returning rows.
    public var explain = false

    /// A query of `items` from a source, with conditions and the time-series clauses.
    public init(
        _ items: [SelectItem], from source: Source, asofJoin: Join? = nil, where conditions: [Condition] = [],
        sampleBy: SampleBy? = nil, latestOn: Bool = false, groupBy: [Expr] = [], orderBy: [OrderItem] = [], limit: Int? = nil
    ) {
        self.items = items
        self.source = source
        self.asofJoin = asofJoin
        self.conditions = conditions
        self.sampleBy = sampleBy
        self.latestOn = latestOn
        self.groupBy = groupBy
        self.orderBy = orderBy
        self.limit = limit
    }

    /// `SELECT items FROM table`.
    public init(_ items: [SelectItem], from table: String, where conditions: [Condition] = []) {
        self.init(items, from: .table(table, alias: nil), where: conditions)
    }

    /// Where a query's rows come from.
    public indirect enum Source: Sendable {
        /// A table, with an optional alias.
        case table(String, alias: String?)
        /// The rows of another query, with an optional alias.
        case subquery(Query, alias: String?)

        var alias: String? {
            switch self {
            case .table(let name, let alias): alias ?? name
            case .subquery(_, let alias): alias
            }
        }
    }

    /// `ASOF JOIN table [alias] ON (symbol)`.
    public struct Join: Sendable {
        /// The joined table.
        public var table: String
        /// Its alias in the query, if any.
        public var alias: String?
        /// A join of `table` (as `alias`).
        public init(_ table: String, alias: String? = nil) {
            self.table = table
            self.alias = alias
        }
    }
}

/// One item of the select list: an expression, or `*` for every column of the source.
public struct SelectItem: Sendable {
    /// The expression (nil for `*`).
    public var expr: Expr?
    /// Its name in the result, if given (`AS name`).
    public var alias: String?
    /// The text the item was written as, used as its column name when it has no alias.
    public var text: String

    /// `*`: every column of the source.
    public static let star = SelectItem(expr: nil, alias: nil, text: "*")

    /// An output of `expr`, named `alias` (else its text).
    public init(_ expr: Expr, as alias: String? = nil) {
        self.expr = expr
        self.alias = alias
        self.text = expr.description
    }

    init(expr: Expr?, alias: String?, text: String) {
        self.expr = expr
        self.alias = alias
        self.text = text
    }

    /// The output column's name.
    public var name: String { alias ?? text }
}

/// The aggregate functions of the dialect.
public enum AggregateFunction: String, Sendable, CaseIterable {
    /// `count(*)` or `count(col)`.
    case count
    /// `sum`.
    case sum
    /// `avg`.
    case avg
    /// `min`.
    case min
    /// `max`.
    case max
    /// `first`: the value at the earliest time.
    case first
    /// `last`: the value at the latest time.
    case last
    /// `vwap(price, volume)`.
    case vwap
    /// `weighted_avg(x, w)`: sum(x × w) / sum(w), the same as `vwap`.
    case weightedAvg = "weighted_avg"
    /// `twap(x)`: the time-weighted average of a step function that holds each value until the
    /// next row's time (rows of one symbol, in time order).
    case twap
    /// `stddev` (sample, as `stddev_samp`), `stddev_samp`, `stddev_pop`.
    case stddev, stddevSamp = "stddev_samp", stddevPop = "stddev_pop"
    /// `variance` (sample, as `var_samp`), `var_samp`, `var_pop`.
    case variance, varSamp = "var_samp", varPop = "var_pop"
    /// `median(x)`: the interpolated middle value, as `quantile_cont(x, 0.5)`.
    case median
    /// `quantile_cont(x, q)`: interpolated between the two values around position q·(n−1).
    case quantileCont = "quantile_cont"
    /// `quantile_disc(x, q)` and its alias `quantile(x, q)`: the value at position ⌈q·n⌉ − 1 (at least 0).
    case quantileDisc = "quantile_disc", quantile

    var arity: Int {
        switch self {
        case .vwap, .weightedAvg, .quantileCont, .quantileDisc, .quantile: 2
        default: 1
        }
    }

    /// Sample or population variance and deviation.
    var isSpread: Bool { [.stddev, .stddevSamp, .stddevPop, .variance, .varSamp, .varPop].contains(self) }
    /// Aggregates that keep every value of a group (exact order statistics).
    var isOrderStatistic: Bool { [.median, .quantileCont, .quantileDisc, .quantile].contains(self) }
}

/// The scalar functions of the dialect. Outside a function's domain (`ln` or `sqrt` of a negative
/// number, `ln(0)` excepted, which is -inf) the result is null, as it is for a null argument.
public enum ScalarFunction: String, Sendable, CaseIterable {
    /// The natural logarithm.
    case ln
    /// The base-10 logarithm.
    case log10
    /// e to the power x.
    case exp
    /// The absolute value (an Int64 stays Int64).
    case abs
    /// The square root.
    case sqrt
    /// `round(x [, n])`: half away from zero, to n decimal places (n < 0: to tens, hundreds...).
    case round
    /// The largest integer not above x (an Int64 stays Int64).
    case floor
    /// The smallest integer not below x (an Int64 stays Int64).
    case ceil
    /// `coalesce(a, b, ...)`: the first argument that is not null.
    case coalesce

    var arityRange: ClosedRange<Int> {
        switch self {
        case .round: 1...2
        case .coalesce: 1...64
        default: 1...1
        }
    }
}

/// The window functions of the dialect (besides the aggregates `avg`, `sum`, `min`, `max`,
/// `count`, `stddev`, `variance` and their sample/population forms, which take a frame).
public enum WindowFunction: String, Sendable, CaseIterable {
    /// `lag(x [, offset [, default]])`: x of the row `offset` (1) rows before, in the partition.
    case lag
    /// `lead(x [, offset [, default]])`: x of the row `offset` (1) rows after, in the partition.
    case lead
    /// `first_value(x)`: x of the frame's first row.
    case firstValue = "first_value"
    /// `last_value(x)`: x of the frame's last row.
    case lastValue = "last_value"
    /// `row_number()`: 1, 2, ... in the partition.
    case rowNumber = "row_number"
    /// `ema(x, alpha)` with 0 < alpha ≤ 1, or `ema(x, n)` with an integer n ≥ 1 (alpha = 2 / (n + 1)):
    /// e = x for the partition's first value, then e = alpha·x + (1 − alpha)·e. A null leaves e as it is.
    case ema
}

/// A window: `OVER (...)` or `OVER name` or `OVER (name ROWS ...)`.
public struct WindowSpec: Sendable, Hashable {
    /// A named window (`WINDOW name AS (...)`) this one starts from.
    public var base: String?
    /// `PARTITION BY` expressions.
    public var partitionBy: [Expr]
    /// `ORDER BY` keys.
    public var orderBy: [OrderItem]
    /// The frame, if written.
    public var frame: WindowFrame?

    /// A window over these partitions and order, with an optional frame.
    public init(base: String? = nil, partitionBy: [Expr] = [], orderBy: [OrderItem] = [], frame: WindowFrame? = nil) {
        self.base = base
        self.partitionBy = partitionBy
        self.orderBy = orderBy
        self.frame = frame
    }
}

/// A window frame: `ROWS` or `RANGE` between two bounds.
public struct WindowFrame: Sendable, Hashable {
    /// ROWS counts rows; RANGE measures the ORDER BY key (a time, with an interval).
    public enum Kind: String, Sendable, Hashable { case rows = "ROWS", range = "RANGE" }
    /// One end of the frame. Offsets are rows (ROWS) or the key's units (RANGE; intervals are
    /// converted to the time column's unit when planned).
    public enum Bound: Sendable, Hashable {
        case unboundedPreceding
        case preceding(Int64)
        /// n seconds before, for RANGE over a time column (`RANGE '5m' PRECEDING`).
        case precedingSeconds(Int64)
        case currentRow
        case following(Int64)
        case followingSeconds(Int64)
        case unboundedFollowing
    }

    /// ROWS or RANGE.
    public var kind: Kind
    /// The first row of the frame.
    public var start: Bound
    /// The last row of the frame.
    public var end: Bound

    /// A frame of `kind` from `start` to `end` (both included).
    public init(_ kind: Kind, from start: Bound, to end: Bound = .currentRow) {
        self.kind = kind
        self.start = start
        self.end = end
    }
}

/// A call of a window function or an aggregate `OVER` a window.
public struct WindowCall: Sendable, Hashable {
    /// What is computed.
    public enum Function: Sendable, Hashable {
        case window(WindowFunction)
        case aggregate(AggregateFunction)

        var name: String {
            switch self {
            case .window(let f): f.rawValue
            case .aggregate(let f): f.rawValue
            }
        }
    }

    /// The function.
    public var function: Function
    /// Its arguments (`count(*)` has none).
    public var args: [Expr]
    /// The window.
    public var window: WindowSpec

    /// `function(args) OVER window`.
    public init(_ function: Function, _ args: [Expr], over window: WindowSpec) {
        self.function = function
        self.args = args
        self.window = window
    }
}

/// A condition inside an expression (`CASE WHEN`): comparisons joined by AND, OR and NOT, with
/// SQL's three-valued logic (a comparison with null is unknown; CASE takes unknown as false).
public indirect enum BoolExpr: Sendable, Hashable {
    /// `a op b`.
    case compare(Expr, Comparison, Expr)
    /// `e IS NULL`, or with `negated` `e IS NOT NULL`.
    case isNull(Expr, negated: Bool)
    /// Both hold.
    case and(BoolExpr, BoolExpr)
    /// Either holds.
    case or(BoolExpr, BoolExpr)
    /// It does not hold.
    case not(BoolExpr)
}

/// One `WHEN condition THEN value` of a CASE.
public struct WhenClause: Sendable, Hashable {
    /// The condition.
    public var condition: BoolExpr
    /// The value when it holds.
    public var value: Expr
    /// `WHEN condition THEN value`.
    public init(_ condition: BoolExpr, then value: Expr) {
        self.condition = condition
        self.value = value
    }
}

/// The arithmetic operators of the dialect.
public enum ArithmeticOperator: String, Sendable {
    /// `+`.
    case add = "+"
    /// `-`.
    case subtract = "-"
    /// `*`.
    case multiply = "*"
    /// `/`.
    case divide = "/"
}

/// An expression over a row (columns, numbers, arithmetic) or over a group (aggregates).
/// `/` always divides as Float64; `+ - *` on two Int64 stay Int64 and fail on overflow.
public indirect enum Expr: Sendable, Hashable, CustomStringConvertible {
    /// A column, optionally qualified by a table alias.
    case column(String, qualifier: String? = nil)
    /// An integer literal.
    case int(Int64)
    /// A number literal.
    case float(Double)
    /// An aggregate; `count(*)` has no arguments.
    case aggregate(AggregateFunction, [Expr])
    /// `a op b`.
    case arithmetic(ArithmeticOperator, Expr, Expr)
    /// `-a`.
    case negate(Expr)
    /// `NULL`.
    case null
    /// A text literal (`'abc'`), as a value.
    case text(String)
    /// A scalar function.
    case function(ScalarFunction, [Expr])
    /// `CASE WHEN c THEN v ... [ELSE e] END`.
    case caseWhen([WhenClause], otherwise: Expr?)
    /// A window function or an aggregate over a window.
    case window(WindowCall)
    /// `SESSION 'CAL'` (or `session('CAL')`): the name of the trading session of calendar CAL in
    /// which the row's time falls, or null outside every session.
    case session(String)

    /// Column `name`.
    public static func col(_ name: String) -> Expr { .column(name) }
    /// `count(*)`.
    public static func count() -> Expr { .aggregate(.count, []) }
    /// `count(column)`: its non-null values.
    public static func count(_ column: String) -> Expr { .aggregate(.count, [.column(column)]) }
    /// `sum(e)`.
    public static func sum(_ e: Expr) -> Expr { .aggregate(.sum, [e]) }
    /// `avg(e)`.
    public static func avg(_ e: Expr) -> Expr { .aggregate(.avg, [e]) }
    /// `min(e)`.
    public static func min(_ e: Expr) -> Expr { .aggregate(.min, [e]) }
    /// `max(e)`.
    public static func max(_ e: Expr) -> Expr { .aggregate(.max, [e]) }
    /// `first(e)`: the value at the earliest time (nulls skipped).
    public static func first(_ e: Expr) -> Expr { .aggregate(.first, [e]) }
    /// `last(e)`: the value at the latest time (nulls skipped).
    public static func last(_ e: Expr) -> Expr { .aggregate(.last, [e]) }
    /// `vwap(price, volume)`: sum(price × volume) / sum(volume).
    public static func vwap(_ price: Expr, _ volume: Expr) -> Expr { .aggregate(.vwap, [price, volume]) }

    /// The expressions directly inside this one (a window's partition and order keys included).
    var children: [Expr] {
        switch self {
        case .column, .int, .float, .null, .text, .session: []
        case .aggregate(_, let args), .function(_, let args): args
        case .arithmetic(_, let a, let b): [a, b]
        case .negate(let a): [a]
        case .caseWhen(let whens, let otherwise): whens.flatMap { $0.condition.exprs + [$0.value] } + (otherwise.map { [$0] } ?? [])
        case .window(let w): w.args + w.window.partitionBy + w.window.orderBy.map(\.expr)
        }
    }

    var hasAggregate: Bool {
        if case .aggregate = self { return true }
        if case .window(let w) = self { return w.args.contains { $0.hasAggregate } }
        return children.contains { $0.hasAggregate }
    }

    var hasWindow: Bool {
        if case .window = self { return true }
        return children.contains { $0.hasWindow }
    }

    /// As written in the dialect.
    public var description: String {
        switch self {
        case .column(let n, let q): q.map { "\($0).\(n)" } ?? n
        case .int(let v): String(v)
        case .float(let d): "\(d)"
        case .aggregate(let f, let args): args.isEmpty && f == .count ? "count(*)" : "\(f.rawValue)(\(Self.list(args)))"
        case .arithmetic(let op, let a, let b): "\(a.parenthesised) \(op.rawValue) \(b.parenthesised)"
        case .negate(let a): "-\(a.parenthesised)"
        case .null: "NULL"
        case .text(let t): "'\(t.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''"))'"
        case .function(let f, let args): "\(f.rawValue)(\(Self.list(args)))"
        case .caseWhen(let whens, let otherwise):
            "CASE " + whens.map { "WHEN \($0.condition) THEN \($0.value) " }.joined() + (otherwise.map { "ELSE \($0) " } ?? "") + "END"
        case .window(let w): "\(w.function.name)(\(w.args.isEmpty && w.function == .aggregate(.count) ? "*" : Self.list(w.args))) OVER (\(w.window))"
        case .session(let c): "SESSION '\(c)'"
        }
    }

    /// The expressions' texts separated by ", ". By hand: the first call in a process of the
    /// generic `joined(separator:)` looks a type up through the runtime's demangler, about 40 µs of
    /// a fresh `strata query` whose output columns are named after expressions.
    private static func list(_ exprs: [Expr]) -> String {
        var text = ""
        for k in exprs.indices {
            if k > 0 { text += ", " }
            text += exprs[k].description
        }
        return text
    }

    private var parenthesised: String {
        if case .arithmetic = self { return "(\(description))" }
        return description
    }
}

/// The comparison operators of the dialect.
public enum Comparison: String, Sendable {
    /// `=`.
    case equal = "="
    /// `<`.
    case less = "<"
    /// `<=`.
    case lessOrEqual = "<="
    /// `>`.
    case greater = ">"
    /// `>=`.
    case greaterOrEqual = ">="
    /// `!=`.
    case notEqual = "!="

    func holds<T: Comparable>(_ a: T, _ b: T) -> Bool {
        switch self {
        case .equal: a == b
        case .less: a < b
        case .lessOrEqual: a <= b
        case .greater: a > b
        case .greaterOrEqual: a >= b
        case .notEqual: a != b
        }
    }
}

/// A time in a condition: in the table's unit, or ISO-8601 text converted to it when the query is planned.
public enum TimeValue: Sendable, Hashable {
    /// An integer in the table's unit.
    case units(Int64)
    /// ISO-8601 text.
    case text(String)

    func resolve(_ unit: TimeUnit) throws(StrataError) -> Int64 {
        switch self {
        case .units(let v): v
        case .text(let s): try TimeParser.parse(s, unit: unit)
        }
    }
}

/// A literal in a condition.
public enum Literal: Sendable, Hashable, CustomStringConvertible {
    /// An integer.
    case int(Int64)
    /// A number.
    case float(Double)
    /// A quoted string.
    case string(String)

    /// As written in the dialect.
    public var description: String {
        switch self {
        case .int(let v): String(v)
        case .float(let d): "\(d)"
        case .string(let s): "'\(s)'"
        }
    }
}

/// One condition of the WHERE clause; conditions are joined with AND.
///
/// The generic forms (`compare`, `isIn`, `between`) name a column: on the symbol column they pick
/// symbols (through the per-symbol index), on the time column they bound the time range (an integer
/// in the table's unit or ISO-8601 text), on a value column they filter rows (numbers only).
/// `symbols` and `time` are the same on the source's symbol and time columns, whatever their names.
public enum Condition: Sendable {
    /// `expr op literal`.
    case compare(Expr, Comparison, Literal)
    /// `expr IN (literals)`.
    case isIn(Expr, [Literal])
    /// `e IS NULL`, or with `negated` `e IS NOT NULL`.
    case isNull(Expr, negated: Bool)
    /// Both ends included.
    case between(Expr, Literal, Literal)
    /// The symbol is one of these.
    case symbols([String])
    /// `time op value`.
    case time(Comparison, TimeValue)

    /// The symbol is `s`.
    public static func symbol(_ s: String) -> Condition { .symbols([s]) }
    /// `from <= ts < to`.
    public static func timeRange(_ from: Int64, _ to: Int64) -> [Condition] {
        [.time(.greaterOrEqual, .units(from)), .time(.less, .units(to))]
    }
}

/// `SAMPLE BY n{s|m|h|d} [ALIGN TO CALENDAR [TIME ZONE 'Area/City']] [FILL(...)]`.
public struct SampleBy: Sendable {
    /// The bucket width in seconds.
    public var seconds: Int64
    /// Buckets start at local midnight (and whole local hours, minutes) of this zone; nil is UTC.
    public var timeZone: String?
    /// How empty buckets are filled, per aggregate (none: left out).
    public var fill: [Fill]
    /// `ALIGN TO SESSION 'CAL'`: buckets start at each trading session's start of calendar CAL and
    /// never span a break; rows outside every session are left out.
    public var session: String?

    /// Buckets of `seconds`, cut at local midnight of `timeZone` for whole days, filled per `fill`.
    public init(seconds: Int64, timeZone: String? = nil, fill: [Fill] = []) {
        self.seconds = seconds
        self.timeZone = timeZone
        self.fill = fill
    }

    /// What an empty bucket between a group's first and last bucket holds. One entry applies to every
    /// aggregate; several apply to the aggregates in select-list order.
    public enum Fill: Sendable, Equatable {
        /// Leave empty buckets out.
        case none
        /// Fill with null.
        case null
        /// Fill with the previous bucket's value.
        case prev
        /// Fill by linear interpolation between the buckets around.
        case linear
        /// Fill with this number.
        case constant(Double)
    }
}

/// An `ORDER BY` key (of the query or of a window).
public struct OrderItem: Sendable, Hashable {
    /// The expression ordered by.
    public var expr: Expr
    /// Whether the order is descending.
    public var descending: Bool
    /// Order by `expr`, ascending unless `descending`.
    public init(_ expr: Expr, descending: Bool = false) {
        self.expr = expr
        self.descending = descending
    }
}

extension BoolExpr: CustomStringConvertible {
    var exprs: [Expr] {
        switch self {
        case .compare(let a, _, let b): [a, b]
        case .isNull(let a, _): [a]
        case .and(let a, let b), .or(let a, let b): a.exprs + b.exprs
        case .not(let a): a.exprs
        }
    }

    /// As written in the dialect.
    public var description: String {
        switch self {
        case .compare(let a, let op, let b): "\(a) \(op.rawValue) \(b)"
        case .isNull(let a, let negated): "\(a) IS \(negated ? "NOT " : "")NULL"
        case .and(let a, let b): "(\(a) AND \(b))"
        case .or(let a, let b): "(\(a) OR \(b))"
        case .not(let a): "NOT (\(a))"
        }
    }
}

extension WindowSpec: CustomStringConvertible {
    /// As written in the dialect.
    public var description: String {
        var parts: [String] = []
        if let base { parts.append(base) }
        if !partitionBy.isEmpty { parts.append("PARTITION BY " + partitionBy.map(\.description).joined(separator: ", ")) }
        if !orderBy.isEmpty { parts.append("ORDER BY " + orderBy.map { "\($0.expr)\($0.descending ? " DESC" : "")" }.joined(separator: ", ")) }
        if let frame { parts.append("\(frame.kind.rawValue) BETWEEN \(frame.start) AND \(frame.end)") }
        return parts.joined(separator: " ")
    }
}

extension WindowFrame.Bound: CustomStringConvertible {
    /// As written in the dialect.
    public var description: String {
        switch self {
        case .unboundedPreceding: "UNBOUNDED PRECEDING"
        case .preceding(let n): "\(n) PRECEDING"
        case .precedingSeconds(let s): "'\(s)s' PRECEDING"
        case .currentRow: "CURRENT ROW"
        case .following(let n): "\(n) FOLLOWING"
        case .followingSeconds(let s): "'\(s)s' FOLLOWING"
        case .unboundedFollowing: "UNBOUNDED FOLLOWING"
        }
    }
}
