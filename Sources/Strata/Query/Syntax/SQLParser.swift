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
        let q = try p.query()
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

    static let reserved: Set<String> = [
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "ASOF", "JOIN", "ON", "SAMPLE", "BY", "ALIGN", "TO", "CALENDAR",
        "TIME", "ZONE", "FILL", "LATEST", "PARTITION", "GROUP", "ORDER", "ASC", "DESC", "LIMIT", "AS", "IN", "BETWEEN",
        "LEFT", "INNER", "OUTER", "HAVING", "UNION", "WITH", "DISTINCT", "CROSS", "SPLICE", "LT",
    ]

    init(_ tokens: [Token], sql: String) {
        self.tokens = tokens
        self.text = Array(sql.unicodeScalars)
    }

    var peek: Token { tokens[at] }
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

    /// A name that is not a keyword, or a "quoted" one; nil (nothing consumed) otherwise.
    mutating func acceptName() -> String? {
        switch peek.kind {
        case .word(let w) where !Self.reserved.contains(w.uppercased()):
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

    /// An optional alias: `AS name` or a bare name that is not a keyword.
    mutating func alias() throws(StrataError) -> String? {
        if accept("AS") { return try name("an alias after AS") }
        return acceptName()
    }

    // MARK: Query

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
            repeat {
                let e = try expr()
                var desc = false
                if accept("DESC") { desc = true } else { _ = accept("ASC") }
                q.orderBy.append(OrderItem(e, descending: desc))
            } while acceptSymbol(",")
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
        let seconds: Int64
        switch unit {
        case "s": seconds = 1
        case "m": seconds = 60
        case "h": seconds = 3600
        case "d": seconds = 86_400
        case "M", "y", "w": throw unsupported("SAMPLE BY in \(unit == "M" ? "months" : unit == "y" ? "years" : "weeks"); use s, m, h or d")
        default: throw error("expected a unit (s, m, h or d)")
        }
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
            switch tokens[at + 1].kind {
            case .integer, .number: true
            default: false
            }
        default: false
        }
    }

    private mutating func comparison() -> Comparison? {
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

    // MARK: Expressions

    mutating func expr() throws(StrataError) -> Expr {
        try chain([("+", .add), ("-", .subtract)]) { (p) throws(StrataError) in try p.term() }
    }

    private mutating func term() throws(StrataError) -> Expr {
        try chain([("*", .multiply), ("/", .divide)]) { (p) throws(StrataError) in try p.factor() }
    }

    /// A left-associative chain `operand (op operand)*`. Each operator deepens the tree by one level
    /// too (evaluation recurses on it), so long chains count against the nesting limit.
    private mutating func chain(
        _ operators: [(String, ArithmeticOperator)], _ operand: (inout Parser) throws(StrataError) -> Expr
    ) throws(StrataError) -> Expr {
        let saved = depth
        defer { depth = saved }
        var e = try operand(&self)
        while true {
            guard let op = operators.first(where: { peek.kind == .symbol($0.0) })?.1 else { return e }
            advance()
            try deepen()
            e = .arithmetic(op, e, try operand(&self))
        }
    }

    private mutating func deepen() throws(StrataError) {
        if depth >= Self.depthMax { throw error("nesting no deeper than \(Self.depthMax) levels") }
        depth += 1
    }

    /// Enters one level of nesting for `body`.
    private mutating func nested<T>(_ body: (inout Parser) throws(StrataError) -> T) throws(StrataError) -> T {
        try deepen()
        defer { depth -= 1 }
        return try body(&self)
    }

    private mutating func factor() throws(StrataError) -> Expr {
        try nested { (p) throws(StrataError) in try p.unnestedFactor() }
    }

    private mutating func unnestedFactor() throws(StrataError) -> Expr {
        if acceptSymbol("-") {
            switch peek.kind {
            case .integer(let v):
                advance()
                return .int(-v)
            case .number(let d, _):
                advance()
                return .float(-d)
            default: return .negate(try factor())
            }
        }
        if acceptSymbol("+") { return try factor() }
        if acceptSymbol("(") {
            if peek.keyword == "SELECT" { throw unsupported("a subquery inside an expression") }
            let e = try expr()
            try expectSymbol(")")
            return e
        }
        switch peek.kind {
        case .integer(let v):
            advance()
            return .int(v)
        case .number(let d, _):
            advance()
            return .float(d)
        case .string:
            throw error("expected a column, a number or an aggregate (text is allowed in WHERE only)")
        case .word(let w) where tokens[at + 1].kind == .symbol("("):
            let fnAt = peek
            advance()
            advance()
            guard let f = AggregateFunction(rawValue: w.lowercased()) else {
                throw .badInput("unknown function \(w)() at position \(fnAt.start + 1) (supported: \(AggregateFunction.allCases.map { "\($0.rawValue)()" }.joined(separator: ", ")))")
            }
            if f == .count && acceptSymbol("*") {
                try expectSymbol(")")
                return .aggregate(.count, [])
            }
            if peek.keyword == "DISTINCT" { throw unsupported("\(w)(DISTINCT ...)") }
            var args: [Expr] = []
            if peek.kind != .symbol(")") {
                repeat { args.append(try expr()) } while acceptSymbol(",")
            }
            try expectSymbol(")")
            if args.count != f.arity {
                throw .badInput("\(f.rawValue)() at position \(fnAt.start + 1) takes \(f.arity == 1 ? "one argument" : "\(f.arity) arguments"), not \(args.count)")
            }
            return .aggregate(f, args)
        default:
            let first = try name("a column, a number or an aggregate")
            if acceptSymbol(".") {
                let column = try name("a column name after '\(first).'")
                return .column(column, qualifier: first)
            }
            return .column(first)
        }
    }
}
