/// The SQL dialect of `strata query`, modelled on QuestDB's:
///
///     SELECT item [, item]... FROM source [alias]
///       [ASOF JOIN table [alias] ON (symbol)]
///       [WHERE condition [AND condition]...]
///       [SAMPLE BY n{s|m|h|d} [ALIGN TO CALENDAR [TIME ZONE 'Area/City']] [FILL(NONE|NULL|PREV|LINEAR|constant)]]
///       [LATEST ON ts PARTITION BY symbol]
///       [GROUP BY column [, column]...]
///       [ORDER BY expr [ASC|DESC] [, ...]]
///       [LIMIT n]
///
/// Errors name the position (1-based character offset) and what was expected.
public enum SQLParser {
    /// Parses one SELECT of the dialect into a `Query`; a syntax error names its position.
    public static func parse(_ sql: String) throws(StrataError) -> Query {
        let tokens = try Lexer.tokens(sql)
        if tokens.count > Parser.tokensMax {
            throw .badInput("the query has \(tokens.count) tokens; at most \(Parser.tokensMax) are allowed")
        }
        var p = Parser(tokens, sql: sql)
        let q = try p.statement()
        if p.peek.kind == .symbol(";") { p.advance() }
        guard p.peek.kind == .end else { throw p.error("expected the end of the query") }
        return q
    }
}

struct Parser {
    var tokens: [Token]
    var at = 0
    /// Parentheses and signs open at this point; bounded so that no query can exhaust the stack.
    var depth = 0
    static let depthMax = 64
    static let tokensMax = 10_000
    let text: [Unicode.Scalar]

    /// Words that are never a name in an expression or a table's place: the ones the grammar
    /// needs there. Every other word of the dialect (TIME, ZONE, SAMPLE, LATEST, ROWS, ...) is a
    /// keyword only where a clause expects it, and a name elsewhere; `"quoted"` names are always names.
    static let reserved: Set<String> = [
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "AS", "CASE", "WHEN", "THEN", "ELSE", "END", "IS", "IN", "BETWEEN",
        "OVER", "NULL", "DISTINCT", "HAVING", "UNION", "JOIN", "ON", "GROUP", "ORDER", "LIMIT", "WINDOW", "ASOF", "LIKE",
    ]
    /// Words that start a clause after a table or an expression: not taken as an alias without AS.
    static let clauseWords: Set<String> = reserved.union(["SAMPLE", "LATEST", "LEFT", "RIGHT", "INNER", "OUTER", "CROSS", "FULL", "SPLICE", "LT"])

    init(_ tokens: [Token], sql: String) {
        self.tokens = tokens
        self.text = Array(sql.unicodeScalars)
    }

    var peek: Token { tokens[at] }
    /// The token `k` places on (the end of the query past it).
    func token(after k: Int) -> Token { tokens[min(at + k, tokens.count - 1)] }
    mutating func advance() { if at < tokens.count - 1 { at += 1 } }

    func error(_ expected: String) -> StrataError {
        .badInput("syntax error at position \(peek.start + 1): \(expected), found \(peek.display)")
    }

    func unsupported(_ what: String) -> StrataError {
        .badInput("unsupported at position \(peek.start + 1): \(what)")
    }

    mutating func accept(_ keyword: String) -> Bool {
        if peek.keyword == keyword { advance(); return true }
        return false
    }

    mutating func expect(_ keyword: String) throws(StrataError) {
        guard accept(keyword) else { throw error("expected \(keyword)") }
    }

    mutating func acceptSymbol(_ s: String) -> Bool {
        if peek.kind == .symbol(s) { advance(); return true }
        return false
    }

    mutating func expectSymbol(_ s: String) throws(StrataError) {
        guard acceptSymbol(s) else { throw error("expected '\(s)'") }
    }

    /// A name (a word not in `excluded`, or a "quoted" one); nil (nothing consumed) otherwise.
    mutating func acceptName(excluding excluded: Set<String> = reserved) -> String? {
        switch peek.kind {
        case .word(let w) where !excluded.contains(w.uppercased()):
            advance()
            return w
        case .quotedName(let w):
            advance()
            return w
        default: return nil
        }
    }

    mutating func name(_ what: String) throws(StrataError) -> String {
        guard let n = acceptName() else { throw error("expected \(what)") }
        return n
    }

    /// An optional alias: `AS name` (any word) or a bare name that does not start a clause.
    mutating func alias() throws(StrataError) -> String? {
        if accept("AS") {
            guard let n = acceptName(excluding: []) else { throw error("expected an alias after AS") }
            return n
        }
        return acceptName(excluding: Self.clauseWords)
    }

    // MARK: Query

    mutating func statement() throws(StrataError) -> Query {
        let explain = accept("EXPLAIN")
        var q = try query()
        q.explain = explain
        return q
    }

    mutating func query() throws(StrataError) -> Query {
        try expect("SELECT")
        if peek.keyword == "DISTINCT" { throw unsupported("SELECT DISTINCT") }
        let items = try selectList()
        try expect("FROM")
        var q = Query(items, from: try source())
        try asofJoin(into: &q)
        if accept("WHERE") {
            repeat { q.conditions.append(try condition()) } while accept("AND")
            if peek.keyword == "OR" { throw unsupported("OR in WHERE: conditions can only be joined with AND") }
        }
        if accept("SAMPLE") {
            try expect("BY")
            q.sampleBy = try sampleBy()
        }
        if accept("LATEST") {
            try expect("ON")
            q.latestOnColumn = try name("the time column after LATEST ON")
            try expect("PARTITION")
            try expect("BY")
            q.partitionColumn = try name("the symbol column after PARTITION BY")
            q.latestOn = true
        }
        if accept("GROUP") {
            try expect("BY")
            repeat { q.groupBy.append(try expr()) } while acceptSymbol(",")
        }
        if peek.keyword == "HAVING" { throw unsupported("HAVING: filter the grouped rows in an outer SELECT ... WHERE") }
        if accept("WINDOW") {
            repeat {
                let n = try name("a window name after WINDOW")
                try expect("AS")
                try expectSymbol("(")
                let spec = try windowSpec()
                try expectSymbol(")")
                if q.windows.contains(where: { $0.name == n }) { throw .badInput("window \(n) is defined twice") }
                q.windows.append((n, spec))
            } while acceptSymbol(",")
        }
        try orderByAndLimit(into: &q)
        return q
    }

    /// `*` or expressions with optional aliases, separated by commas.
    private mutating func selectList() throws(StrataError) -> [SelectItem] {
        var items: [SelectItem] = []
        repeat {
            if acceptSymbol("*") {
                items.append(.star)
                continue
            }
            let start = peek.start
            let e = try expr()
            let end = tokens[at - 1].end
            let written = String(String.UnicodeScalarView(text[start..<end]))
            items.append(SelectItem(expr: e, alias: try alias(), text: written))
        } while acceptSymbol(",")
        return items
    }

    /// A table or a parenthesised SELECT, with an optional alias.
    private mutating func source() throws(StrataError) -> Query.Source {
        if acceptSymbol("(") {
            let inner = try query()
            try expectSymbol(")")
            return .subquery(inner, alias: try alias())
        }
        let table = try name("a table name")
        return .table(table, alias: try alias())
    }

    /// `ASOF JOIN table [alias] ON (symbol)`; other joins are refused by name.
    private mutating func asofJoin(into q: inout Query) throws(StrataError) {
        if peek.keyword == "LEFT" || peek.keyword == "INNER" || peek.keyword == "CROSS" || peek.keyword == "SPLICE" || peek.keyword == "LT" {
            throw unsupported("\(peek.keyword!) JOIN: only ASOF JOIN is supported")
        }
        if peek.keyword == "JOIN" { throw unsupported("JOIN: only ASOF JOIN is supported") }
        guard accept("ASOF") else { return }
        try expect("JOIN")
        if peek.kind == .symbol("(") { throw unsupported("ASOF JOIN of a subquery: join a table") }
        let table = try name("a table name after ASOF JOIN")
        let a = try alias()
        try expect("ON")
        try expectSymbol("(")
        let key = try name("the symbol column in ON (...)")
        try expectSymbol(")")
        q.asofJoin = Query.Join(table, alias: a)
        q.joinKey = key
    }

    private mutating func orderByAndLimit(into q: inout Query) throws(StrataError) {
        if accept("ORDER") {
            try expect("BY")
            q.orderBy = try orderItems()
        }
        if accept("LIMIT") {
            guard case .integer(let n) = peek.kind else { throw error("expected a row count after LIMIT") }
            advance()
            if acceptSymbol(",") { throw unsupported("LIMIT with an offset") }
            q.limit = Int(n)
        }
    }

    private mutating func sampleBy() throws(StrataError) -> SampleBy {
        guard case .integer(let n) = peek.kind, n > 0 else { throw error("expected an interval such as 1h or 15m after SAMPLE BY") }
        advance()
        guard case .word(let unit) = peek.kind else { throw error("expected a unit (s, m, h or d) after \(n)") }
        if ["M", "y", "w"].contains(unit) { throw unsupported("SAMPLE BY in \(unit == "M" ? "months" : unit == "y" ? "years" : "weeks"); use s, m, h or d") }
        guard let seconds = Self.unitSeconds(unit) else { throw error("expected a unit (s, m, h or d)") }
        advance()
        let (total, o) = n.multipliedReportingOverflow(by: seconds)
        if o { throw .badInput("SAMPLE BY interval is too large") }
        var s = SampleBy(seconds: total)
        while true {
            if accept("FILL") {
                try expectSymbol("(")
                repeat { s.fill.append(try fill()) } while acceptSymbol(",")
                try expectSymbol(")")
            } else if accept("ALIGN") {
                try expect("TO")
                if accept("FIRST") || peek.keyword == "FIRST" { throw unsupported("ALIGN TO FIRST OBSERVATION") }
                if accept("SESSION") {
                    guard case .string(let c) = peek.kind else { throw error("expected a calendar name in quotes, such as 'XSHG'") }
                    advance()
                    s.session = c
                    continue
                }
                try expect("CALENDAR")
                if accept("TIME") {
                    try expect("ZONE")
                    guard case .string(let z) = peek.kind else { throw error("expected a time zone name in quotes, such as 'Asia/Shanghai'") }
                    advance()
                    s.timeZone = z
                }
                if peek.keyword == "WITH" { throw unsupported("ALIGN TO CALENDAR WITH OFFSET") }
            } else {
                return s
            }
        }
    }

    private mutating func fill() throws(StrataError) -> SampleBy.Fill {
        if accept("NONE") { return .none }
        if accept("NULL") { return .null }
        if accept("PREV") { return .prev }
        if accept("LINEAR") { return .linear }
        let negative = acceptSymbol("-")
        switch peek.kind {
        case .integer(let v):
            advance()
            return .constant(Double(negative ? -v : v))
        case .number(let d, _):
            advance()
            return .constant(negative ? -d : d)
        default: throw error("expected NONE, NULL, PREV, LINEAR or a number in FILL")
        }
    }

    // MARK: Conditions

    private mutating func literal() throws(StrataError) -> Literal {
        let negative = acceptSymbol("-")
        switch peek.kind {
        case .integer(let v):
            advance()
            return .int(negative ? -v : v)
        case .number(let d, _):
            advance()
            return .float(negative ? -d : d)
        case .string(let s) where !negative:
            advance()
            return .string(s)
        default: throw error("expected a number or a quoted string")
        }
    }

    private var atLiteral: Bool {
        switch peek.kind {
        case .integer, .number, .string: true
        case .symbol("-"):
            switch token(after: 1).kind {
            case .integer, .number: true
            default: false
            }
        default: false
        }
    }

    mutating func comparison() -> Comparison? {
        guard case .symbol(let s) = peek.kind, let c = Comparison(rawValue: s) else { return nil }
        advance()
        return c
    }

    private mutating func condition() throws(StrataError) -> Condition {
        try nested { (p) throws(StrataError) in try p.unnestedCondition() }
    }

    private mutating func unnestedCondition() throws(StrataError) -> Condition {
        if peek.keyword == "NOT" { throw unsupported("NOT") }
        if acceptSymbol("(") {
            let c = try condition()
            if peek.keyword == "OR" { throw unsupported("OR in WHERE: conditions can only be joined with AND") }
            try expectSymbol(")")
            return c
        }
        if atLiteral {
            // literal op expr: flip it.
            let l = try literal()
            guard let op = comparison() else { throw error("expected a comparison (=, <, <=, >, >=, !=)") }
            let e = try expr()
            let flipped: Comparison
            switch op {
            case .less: flipped = .greater
            case .lessOrEqual: flipped = .greaterOrEqual
            case .greater: flipped = .less
            case .greaterOrEqual: flipped = .lessOrEqual
            default: flipped = op
            }
            return .compare(e, flipped, l)
        }
        let e = try expr()
        if accept("IN") {
            try expectSymbol("(")
            var list: [Literal] = []
            repeat { list.append(try literal()) } while acceptSymbol(",")
            try expectSymbol(")")
            return .isIn(e, list)
        }
        if accept("BETWEEN") {
            let lo = try literal()
            try expect("AND")
            let hi = try literal()
            return .between(e, lo, hi)
        }
        if accept("IS") {
            let negated = accept("NOT")
            try expect("NULL")
            return .isNull(e, negated: negated)
        }
        if peek.keyword == "NOT" { throw unsupported("NOT IN / NOT BETWEEN") }
        if peek.keyword == "LIKE" { throw unsupported(peek.keyword!) }
        guard let op = comparison() else { throw error("expected a comparison (=, <, <=, >, >=, !=), IN, BETWEEN or IS [NOT] NULL") }
        guard atLiteral else { throw error("expected a number or a quoted string to compare with") }
        return .compare(e, op, try literal())
    }
}
