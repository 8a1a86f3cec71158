// Expressions of the dialect: arithmetic, functions, aggregates, CASE, window calls and their
// windows, and the conditions inside CASE.

extension Parser {
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
    mutating func nested<T>(_ body: (inout Parser) throws(StrataError) -> T) throws(StrataError) -> T {
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
        case .string(let t):
            advance()
            return .text(t)
        case .word(let w) where token(after: 1).kind == .symbol("("):
            return try call(w)
        case .word where peek.keyword == "NULL":
            advance()
            return .null
        case .word where peek.keyword == "CASE":
            advance()
            return try caseWhen()
        case .word where peek.keyword == "SESSION":
            if case .string(let c) = token(after: 1).kind {
                advance()
                advance()
                return .session(c)
            }
            fallthrough
        default:
            let first = try name("a column, a number or a function")
            if acceptSymbol(".") {
                let column = try name("a column name after '\(first).'")
                return .column(column, qualifier: first)
            }
            return .column(first)
        }
    }

    /// `name(args)`, then `OVER window` for window functions and aggregates over a window.
    private mutating func call(_ w: String) throws(StrataError) -> Expr {
        let fnAt = peek
        advance()
        advance()
        let lower = w.lowercased()
        let aggregate = AggregateFunction(rawValue: lower)
        let window = WindowFunction(rawValue: lower)
        let scalar = ScalarFunction(rawValue: lower)
        guard aggregate != nil || window != nil || scalar != nil || lower == "session" else {
            let known = AggregateFunction.allCases.map(\.rawValue) + WindowFunction.allCases.map(\.rawValue) + ScalarFunction.allCases.map(\.rawValue)
            throw .badInput("unknown function \(w)() at position \(fnAt.start + 1) (supported: \(known.map { "\($0)()" }.joined(separator: ", ")), session())")
        }
        var args: [Expr] = []
        if aggregate == .count && acceptSymbol("*") {
            try expectSymbol(")")
        } else {
            if peek.keyword == "DISTINCT" { throw unsupported("\(w)(DISTINCT ...)") }
            if peek.kind != .symbol(")") {
                repeat { args.append(try expr()) } while acceptSymbol(",")
            }
            try expectSymbol(")")
        }
        let position = "\(w)() at position \(fnAt.start + 1)"
        if accept("OVER") {
            let spec = try over()
            if let window { return .window(WindowCall(.window(window), args, over: spec)) }
            guard let aggregate else { throw .badInput("\(position) is not a window function or an aggregate: it cannot take OVER") }
            return .window(WindowCall(.aggregate(aggregate), args, over: spec))
        }
        if window != nil { throw .badInput("\(position) is a window function: it needs OVER (...)") }
        if lower == "session" {
            guard args.count == 1, case .text(let c) = args[0] else { throw .badInput("\(position) takes a calendar name in quotes, such as session('XSHG')") }
            return .session(c)
        }
        if let scalar {
            guard scalar.arityRange.contains(args.count) else {
                throw .badInput("\(position) takes \(Self.arguments(scalar.arityRange)), not \(args.count)")
            }
            return .function(scalar, args)
        }
        let f = aggregate!
        if !(f == .count && args.isEmpty) && args.count != f.arity {
            throw .badInput("\(f.rawValue)() at position \(fnAt.start + 1) takes \(f.arity == 1 ? "one argument" : "\(f.arity) arguments"), not \(args.count)")
        }
        return .aggregate(f, args)
    }

    private static func arguments(_ r: ClosedRange<Int>) -> String {
        if r.count == 1 { return r.lowerBound == 1 ? "one argument" : "\(r.lowerBound) arguments" }
        return r.upperBound > 9 ? "at least \(r.lowerBound) argument\(r.lowerBound == 1 ? "" : "s")" : "\(r.lowerBound) to \(r.upperBound) arguments"
    }

    /// `CASE [operand] WHEN ... THEN ... [ELSE ...] END`; with an operand each WHEN is a value it equals.
    private mutating func caseWhen() throws(StrataError) -> Expr {
        let operand: Expr? = peek.keyword == "WHEN" ? nil : try expr()
        var whens: [WhenClause] = []
        while accept("WHEN") {
            let condition: BoolExpr
            if let operand { condition = .compare(operand, .equal, try expr()) } else { condition = try boolExpr() }
            try expect("THEN")
            whens.append(WhenClause(condition, then: try expr()))
        }
        if whens.isEmpty { throw error("expected WHEN after CASE") }
        let otherwise = accept("ELSE") ? try expr() : nil
        try expect("END")
        return .caseWhen(whens, otherwise: otherwise)
    }

    // MARK: Conditions in expressions

    /// `a OR b`, `a AND b`, `NOT a`, comparisons, `IS [NOT] NULL`, `BETWEEN`, `IN (...)`.
    mutating func boolExpr() throws(StrataError) -> BoolExpr {
        try nested { (p) throws(StrataError) in
            var e = try p.boolTerm()
            while p.accept("OR") { e = .or(e, try p.boolTerm()) }
            return e
        }
    }

    private mutating func boolTerm() throws(StrataError) -> BoolExpr {
        var e = try boolFactor()
        while accept("AND") { e = .and(e, try boolFactor()) }
        return e
    }

    private mutating func boolFactor() throws(StrataError) -> BoolExpr {
        if accept("NOT") { return .not(try nested { (p) throws(StrataError) in try p.boolFactor() }) }
        if peek.kind == .symbol("(") {
            // A parenthesised condition, or an arithmetic expression that starts with '(': try the first.
            let saved = (at, depth)
            advance()
            if let inner = try? boolExpr(), acceptSymbol(")") { return inner }
            (at, depth) = saved
        }
        let a = try expr()
        if accept("IS") {
            let negated = accept("NOT")
            try expect("NULL")
            return .isNull(a, negated: negated)
        }
        if accept("BETWEEN") {
            let lo = try expr()
            try expect("AND")
            return .and(.compare(a, .greaterOrEqual, lo), .compare(a, .lessOrEqual, try expr()))
        }
        let negatedIn = peek.keyword == "NOT" && token(after: 1).keyword == "IN"
        if negatedIn { advance() }
        if accept("IN") {
            try expectSymbol("(")
            var e: BoolExpr = .compare(a, .equal, try expr())
            while acceptSymbol(",") { e = .or(e, .compare(a, .equal, try expr())) }
            try expectSymbol(")")
            return negatedIn ? .not(e) : e
        }
        guard let op = comparison() else { throw error("expected a comparison (=, <, <=, >, >=, !=), IS [NOT] NULL, BETWEEN or IN") }
        return .compare(a, op, try expr())
    }

    // MARK: Windows

    /// `expr [ASC|DESC] [, ...]` after ORDER BY.
    mutating func orderItems() throws(StrataError) -> [OrderItem] {
        var items: [OrderItem] = []
        repeat {
            let e = try expr()
            var desc = false
            if accept("DESC") { desc = true } else { _ = accept("ASC") }
            items.append(OrderItem(e, descending: desc))
        } while acceptSymbol(",")
        return items
    }

    /// `OVER name` or `OVER ([name] [PARTITION BY ...] [ORDER BY ...] [frame])`.
    private mutating func over() throws(StrataError) -> WindowSpec {
        if !acceptSymbol("(") {
            guard let n = acceptName() else { throw error("expected a window name or '(' after OVER") }
            return WindowSpec(base: n)
        }
        let spec = try windowSpec()
        try expectSymbol(")")
        return spec
    }

    /// The inside of a window's parentheses.
    mutating func windowSpec() throws(StrataError) -> WindowSpec {
        var spec = WindowSpec()
        if !["PARTITION", "ORDER", "ROWS", "RANGE"].contains(peek.keyword ?? ""), peek.kind != .symbol(")") {
            spec.base = try name("a window name, PARTITION BY, ORDER BY, ROWS or RANGE")
        }
        if accept("PARTITION") {
            try expect("BY")
            repeat { spec.partitionBy.append(try expr()) } while acceptSymbol(",")
        }
        if accept("ORDER") {
            try expect("BY")
            spec.orderBy = try orderItems()
        }
        if peek.keyword == "ROWS" || peek.keyword == "RANGE" {
            let kind: WindowFrame.Kind = peek.keyword == "ROWS" ? .rows : .range
            advance()
            if accept("BETWEEN") {
                let start = try frameBound(kind)
                try expect("AND")
                spec.frame = WindowFrame(kind, from: start, to: try frameBound(kind))
            } else {
                spec.frame = WindowFrame(kind, from: try frameBound(kind))
            }
        }
        return spec
    }

    /// `UNBOUNDED PRECEDING|FOLLOWING`, `CURRENT ROW`, `n PRECEDING|FOLLOWING`, and for RANGE over a
    /// time `'5m' PRECEDING` or `5 MINUTES PRECEDING`.
    private mutating func frameBound(_ kind: WindowFrame.Kind) throws(StrataError) -> WindowFrame.Bound {
        if accept("UNBOUNDED") {
            if accept("PRECEDING") { return .unboundedPreceding }
            try expect("FOLLOWING")
            return .unboundedFollowing
        }
        if accept("CURRENT") {
            try expect("ROW")
            return .currentRow
        }
        var seconds: Int64? = nil
        var count: Int64 = 0
        switch peek.kind {
        case .integer(let n) where n >= 0:
            advance()
            count = n
            if case .word(let w) = peek.kind, !["PRECEDING", "FOLLOWING"].contains(peek.keyword!) {
                guard let unit = Self.unitSeconds(w) else { throw error("expected PRECEDING, FOLLOWING or a unit (s, m, h, d)") }
                advance()
                seconds = try Self.interval(n, unit)
            }
        case .string(let text):
            advance()
            seconds = try Self.interval(text)
        default:
            throw error("expected UNBOUNDED, CURRENT ROW, a row count or an interval such as '5m'")
        }
        if seconds != nil && kind == .rows { throw .badInput("a ROWS frame counts rows: write ROWS \(count) PRECEDING, or RANGE for an interval") }
        let preceding: Bool
        if accept("PRECEDING") { preceding = true } else { try expect("FOLLOWING"); preceding = false }
        if let seconds { return preceding ? .precedingSeconds(seconds) : .followingSeconds(seconds) }
        return preceding ? .preceding(count) : .following(count)
    }

    /// Seconds in a unit: s, m, h, d, or second(s), minute(s), hour(s), day(s) in any case.
    static func unitSeconds(_ unit: String) -> Int64? {
        switch unit {
        case "s": return 1
        case "m": return 60
        case "h": return 3600
        case "d": return 86_400
        default: break
        }
        switch unit.uppercased() {
        case "SECOND", "SECONDS": return 1
        case "MINUTE", "MINUTES": return 60
        case "HOUR", "HOURS": return 3600
        case "DAY", "DAYS": return 86_400
        default: return nil
        }
    }

    private static func interval(_ n: Int64, _ unit: Int64) throws(StrataError) -> Int64 {
        let (total, o) = n.multipliedReportingOverflow(by: unit)
        if o { throw .badInput("the interval \(n) × \(unit) s is too large") }
        return total
    }

    /// `'5m'`, `'90s'`, `'1h'`, `'2d'`: a whole number and a unit.
    static func interval(_ text: String) throws(StrataError) -> Int64 {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard let n = Int64(digits), let unit = unitSeconds(String(text.dropFirst(digits.count)).trimmingSpaces) else {
            throw .badInput("'\(text)' is not an interval: write a whole number and a unit, such as '5m' or '1h'")
        }
        return try interval(n, unit)
    }
}

extension String {
    /// Without the spaces, tabs and line breaks at either end.
    package var trimmingSpaces: String {
        func blank(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\r\n" }
        var s = Substring(self)
        while let c = s.first, blank(c) { s.removeFirst() }
        while let c = s.last, blank(c) { s.removeLast() }
        return String(s)
    }
}
