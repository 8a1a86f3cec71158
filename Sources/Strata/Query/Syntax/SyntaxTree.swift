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

    var arity: Int { self == .vwap ? 2 : 1 }
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

    var hasAggregate: Bool {
        switch self {
        case .aggregate: true
        case .arithmetic(_, let a, let b): a.hasAggregate || b.hasAggregate
        case .negate(let a): a.hasAggregate
        case .column, .int, .float: false
        }
    }

    /// As written in the dialect.
    public var description: String {
        switch self {
        case .column(let n, let q): q.map { "\($0).\(n)" } ?? n
        case .int(let v): String(v)
        case .float(let d): "\(d)"
        case .aggregate(let f, let args): args.isEmpty && f == .count ? "count(*)" : "\(f.rawValue)(\(args.map(\.description).joined(separator: ", ")))"
        case .arithmetic(let op, let a, let b): "\(a.parenthesised) \(op.rawValue) \(b.parenthesised)"
        case .negate(let a): "-\(a.parenthesised)"
        }
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

/// An `ORDER BY` key.
public struct OrderItem: Sendable {
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
