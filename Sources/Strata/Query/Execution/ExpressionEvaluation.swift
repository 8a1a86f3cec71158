/// A column of values for the rows of one batch. Decoded block columns are referenced, not copied.
struct Vec {
    enum Values {
        case ints(ArraySlice<Int64>)
        case floats(ArraySlice<Double>)
        case strings(ArraySlice<String>)
        /// Every row holds this value (a base table's symbol, a literal).
        case string(String)
        case int(Int64)
        case float(Double)
        /// Float64 values held as a decimal column's integers: the value of row r is
        /// Double(v[r]) / scale (scale 10^k), bit for bit what decoding would give. Only aggregates
        /// see these (the planner's `scaledSlots`); elsewhere `floatValues` converts.
        case decimals(ArraySlice<Int64>, Double)
    }

    var values: Values
    /// Per row: false is null. nil when no row is null.
    var valid: ArraySlice<Bool>?

    init(_ values: Values, valid: ArraySlice<Bool>? = nil) {
        self.values = values
        self.valid = valid
    }

    @inline(__always)
    func isValid(_ r: Int) -> Bool { valid.map { $0[$0.startIndex + r] } ?? true }

    /// The values as Int64 (the expression was typed int64), one per row.
    func intValues(_ n: Int) -> ArraySlice<Int64> {
        switch values {
        case .ints(let v): v
        case .int(let x): ArraySlice(repeating: x, count: n)
        default: preconditionFailure("not an int64 vector")
        }
    }

    /// The values as Float64; Int64 values are converted.
    func floatValues(_ n: Int) -> ArraySlice<Double> {
        switch values {
        case .floats(let v): v
        case .float(let x): ArraySlice(repeating: x, count: n)
        case .ints(let v): ArraySlice(v.map { Double($0) })
        case .int(let x): ArraySlice(repeating: Double(x), count: n)
        case .decimals(let v, let scale): ArraySlice(v.map { Double($0) / scale })
        default: preconditionFailure("not a numeric vector")
        }
    }

    func value(_ r: Int) -> ResultValue {
        if !isValid(r) { return .null }
        switch values {
        case .ints(let v): return .int(v[v.startIndex + r])
        case .floats(let v): return .float(v[v.startIndex + r])
        case .strings(let v): return .string(v[v.startIndex + r])
        case .string(let s): return .string(s)
        case .int(let x): return .int(x)
        case .float(let x): return .float(x)
        case .decimals(let v, let scale): return .float(Double(v[v.startIndex + r]) / scale)
        }
    }

    /// The rows at `rows`, copied.
    func gather(_ rows: [Int]) -> Vec {
        let g: Values
        switch values {
        case .ints(let v): g = .ints(ArraySlice(Array(gathering: v, at: rows)))
        case .floats(let v): g = .floats(ArraySlice(Array(gathering: v, at: rows)))
        case .strings(let v): g = .strings(ArraySlice(Array(gathering: v, at: rows)))
        case .decimals(let v, let scale): g = .decimals(ArraySlice(Array(gathering: v, at: rows)), scale)
        case .string, .int, .float: g = values
        }
        return Vec(g, valid: valid.map { ArraySlice(Array(gathering: $0, at: rows)) })
    }

    /// Rows [lo, hi).
    func slice(_ lo: Int, _ hi: Int) -> Vec {
        let s: Values
        switch values {
        case .ints(let v): s = .ints(v[(v.startIndex + lo)..<(v.startIndex + hi)])
        case .floats(let v): s = .floats(v[(v.startIndex + lo)..<(v.startIndex + hi)])
        case .strings(let v): s = .strings(v[(v.startIndex + lo)..<(v.startIndex + hi)])
        case .decimals(let v, let scale): s = .decimals(v[(v.startIndex + lo)..<(v.startIndex + hi)], scale)
        case .string, .int, .float: s = values
        }
        return Vec(s, valid: valid.map { $0[($0.startIndex + lo)..<($0.startIndex + hi)] })
    }

    /// A vector of `n` values of the given result column.
    init(_ column: ResultColumn) {
        switch column {
        case .int64(let v):
            self.init(.ints(ArraySlice(v.map { $0 ?? 0 })), valid: v.contains(nil) ? ArraySlice(v.map { $0 != nil }) : nil)
        case .float64(let v):
            self.init(.floats(ArraySlice(v.map { $0 ?? 0 })), valid: v.contains(nil) ? ArraySlice(v.map { $0 != nil }) : nil)
        case .string(let v):
            self.init(.strings(ArraySlice(v.map { $0 ?? "" })), valid: v.contains(nil) ? ArraySlice(v.map { $0 != nil }) : nil)
        }
    }
}

/// Rows flowing into an operator: one block's slice of one symbol, or a materialised subquery.
struct Batch {
    var count: Int
    /// Every row's symbol, when they share one (base tables); else the symbol column, if any, is a vector.
    var symbol: String?
    /// Column vectors by slot; nil for slots the query does not read.
    var columns: [Vec?]
    /// Rows are in time order (first/last can take the ends of a run).
    var sorted: Bool
    /// The symbol's id in its table, when `symbol` is a table's symbol (-1 otherwise).
    var symbolID: Int32 = -1

    func filtered(_ keep: [Int]) -> Batch {
        Batch(count: keep.count, symbol: symbol, columns: columns.map { $0?.gather(keep) }, sorted: sorted, symbolID: symbolID)
    }
}

/// An expression resolved against a source: columns replaced by slots, every node typed.
indirect enum ResolvedExpr {
    case slot(Int, ResultType)
    case int(Int64)
    case float(Double)
    case arithmetic(ArithmeticOperator, ResolvedExpr, ResolvedExpr, ResultType)
    case negate(ResolvedExpr, ResultType)
    /// After aggregation: the value of aggregate `i` or group key `i`.
    case aggregate(Int, ResultType)
    case key(Int, ResultType)
    /// A null of the type its context gives it.
    case null(ResultType)
    case text(String)
    case function(ScalarFunction, [ResolvedExpr], ResultType)
    case caseWhen([(ResolvedCondition, ResolvedExpr)], ResolvedExpr?, ResultType)
    /// The session of `calendar` at the time the expression gives.
    case session(TradingCalendar, ResolvedExpr, TimeUnit)

    var type: ResultType {
        switch self {
        case .slot(_, let t), .arithmetic(_, _, _, let t), .negate(_, let t), .aggregate(_, let t), .key(_, let t): t
        case .null(let t), .function(_, _, let t), .caseWhen(_, _, let t): t
        case .int: .int64
        case .float: .float64
        case .text, .session: .string
        }
    }

    /// The expressions directly inside this one.
    var children: [ResolvedExpr] {
        switch self {
        case .slot, .int, .float, .aggregate, .key, .null, .text: []
        case .arithmetic(_, let a, let b, _): [a, b]
        case .negate(let a, _): [a]
        case .function(_, let args, _): args
        case .caseWhen(let whens, let otherwise, _): whens.flatMap { $0.0.exprs + [$0.1] } + (otherwise.map { [$0] } ?? [])
        case .session(_, let t, _): [t]
        }
    }

    /// The same expression with aggregate `i` read from slot `aggregateSlot(i)` and key `j` from
    /// `keySlot(j)`: outputs over groups evaluate as row expressions over the groups' columns.
    func overGroups(aggregateSlot: (Int) -> Int, keySlot: (Int) -> Int) -> ResolvedExpr {
        func map(_ e: ResolvedExpr) -> ResolvedExpr { e.overGroups(aggregateSlot: aggregateSlot, keySlot: keySlot) }
        switch self {
        case .aggregate(let i, let t): return .slot(aggregateSlot(i), t)
        case .key(let j, let t): return .slot(keySlot(j), t)
        case .slot, .int, .float, .null, .text: return self
        case .arithmetic(let op, let a, let b, let t): return .arithmetic(op, map(a), map(b), t)
        case .negate(let a, let t): return .negate(map(a), t)
        case .function(let f, let args, let t): return .function(f, args.map(map), t)
        case .caseWhen(let whens, let otherwise, let t):
            return .caseWhen(whens.map { ($0.0.mapExprs(map), map($0.1)) }, otherwise.map(map), t)
        case .session(let c, let time, let u): return .session(c, map(time), u)
        }
    }

    var slot: Int? {
        if case .slot(let s, _) = self { return s }
        return nil
    }

    func slots(into set: inout SlotSet) {
        if case .slot(let s, _) = self { set.insert(s) }
        for c in children { c.slots(into: &set) }
    }
}

enum Arithmetic {
    static func resultType(_ op: ArithmeticOperator, _ a: ResultType, _ b: ResultType, _ text: String) throws(StrataError) -> ResultType {
        if a == .string || b == .string { throw .badInput("cannot do arithmetic on text in \(text)") }
        if op == .divide { return .float64 }
        return a == .int64 && b == .int64 ? .int64 : .float64
    }

    static func overflow(_ op: ArithmeticOperator) -> StrataError {
        .badInput("integer overflow in '\(op.rawValue)': the result does not fit in a 64-bit integer")
    }

    /// One pair of values; null in, null out; division by zero is null.
    static func apply(_ op: ArithmeticOperator, _ a: ResultValue, _ b: ResultValue) throws(StrataError) -> ResultValue {
        if case .int(let x) = a, case .int(let y) = b, op != .divide {
            let (r, o): (Int64, Bool)
            switch op {
            case .add: (r, o) = x.addingReportingOverflow(y)
            case .subtract: (r, o) = x.subtractingReportingOverflow(y)
            default: (r, o) = x.multipliedReportingOverflow(by: y)
            }
            if o { throw overflow(op) }
            return .int(r)
        }
        guard let x = a.double, let y = b.double else { return .null }
        switch op {
        case .add: return .float(x + y)
        case .subtract: return .float(x - y)
        case .multiply: return .float(x * y)
        case .divide: return y == 0 ? .null : .float(x / y)
        }
    }
}

/// Evaluates resolved row expressions over a batch.
enum Evaluator {
    static func eval(_ e: ResolvedExpr, _ b: Batch) throws(StrataError) -> Vec {
        switch e {
        case .slot(let s, _): return b.columns[s]!
        case .int(let v): return Vec(.int(v))
        case .float(let v): return Vec(.float(v))
        case .negate(let a, let t):
            let v = try eval(a, b)
            if t == .int64 {
                var out = [Int64](repeating: 0, count: b.count)
                for (k, x) in v.intValues(b.count).enumerated() {
                    if x == .min && v.isValid(k) { throw Arithmetic.overflow(.subtract) }
                    out[k] = 0 &- x
                }
                return Vec(.ints(out[...]), valid: v.valid)
            }
            return Vec(.floats(ArraySlice(v.floatValues(b.count).map { -$0 })), valid: v.valid)
        case .arithmetic(let op, let l, let r, let t):
            let x = try eval(l, b), y = try eval(r, b)
            let n = b.count
            var valid: [Bool]? = nil
            if x.valid != nil || y.valid != nil { valid = (0..<n).map { x.isValid($0) && y.isValid($0) } }
            if t == .int64 {
                let p = x.intValues(n), q = y.intValues(n)
                var out = [Int64](repeating: 0, count: n)
                var bad = false
                for k in 0..<n {
                    let a = p[p.startIndex + k], c = q[q.startIndex + k]
                    let (v, o): (Int64, Bool)
                    switch op {
                    case .add: (v, o) = a.addingReportingOverflow(c)
                    case .subtract: (v, o) = a.subtractingReportingOverflow(c)
                    default: (v, o) = a.multipliedReportingOverflow(by: c)
                    }
                    out[k] = v
                    if o && (valid?[k] ?? true) { bad = true }
                }
                if bad { throw Arithmetic.overflow(op) }
                return Vec(.ints(out[...]), valid: valid?[...])
            }
            let p = x.floatValues(n), q = y.floatValues(n)
            var out = [Double](repeating: 0, count: n)
            switch op {
            case .add: for k in 0..<n { out[k] = p[p.startIndex + k] + q[q.startIndex + k] }
            case .subtract: for k in 0..<n { out[k] = p[p.startIndex + k] - q[q.startIndex + k] }
            case .multiply: for k in 0..<n { out[k] = p[p.startIndex + k] * q[q.startIndex + k] }
            case .divide:
                for k in 0..<n {
                    let d = q[q.startIndex + k]
                    if d == 0 {
                        if valid == nil { valid = [Bool](repeating: true, count: n) }
                        valid![k] = false
                    } else {
                        out[k] = p[p.startIndex + k] / d
                    }
                }
            }
            return Vec(.floats(out[...]), valid: valid?[...])
        case .null(let t): return Vec.nulls(t, b.count)
        case .text(let s): return Vec(.string(s))
        case .function(let f, let args, let t): return try function(f, args, t, b)
        case .caseWhen(let whens, let otherwise, let t): return try caseWhen(whens, otherwise, t, b)
        case .session(let calendar, let time, let unit): return try session(calendar, time, unit, b)
        case .aggregate, .key:
            preconditionFailure("aggregate values are evaluated per group")
        }
    }
}

/// A value condition: `expr op number`, `text = / != / IN`, or `IS [NOT] NULL`. A null passes no
/// comparison (not `!=` either); NaN passes `!=` only.
struct Predicate {
    var expr: ResolvedExpr
    var test: Test

    enum Test {
        case number(Comparison, ResultValue)  // .int or .float
        /// Equal to one of the strings (by bytes), or with `equal` false to none of them.
        case text([String], equal: Bool)
        /// With true, `IS NULL`; with false, `IS NOT NULL`.
        case null(Bool)
    }

    func mask(_ b: Batch) throws(StrataError) -> [Bool] {
        let v = try Evaluator.eval(expr, b)
        var out = [Bool](repeating: false, count: b.count)
        switch (test, expr.type) {
        case (.null(let wanted), _):
            for r in 0..<b.count { out[r] = v.isValid(r) != wanted }
        case (.text(let list, let equal), _):
            let set = Set(list.map(ByteString.init))
            for r in 0..<b.count where v.isValid(r) {
                guard case .string(let s) = v.value(r) else { continue }
                out[r] = (list.count == 1 ? sameBytes(s, list[0]) : set.contains(ByteString(s))) == equal
            }
        case (.number(let op, .int(let k)), .int64):
            let p = v.intValues(b.count)
            for r in 0..<b.count { out[r] = v.isValid(r) && op.holds(p[p.startIndex + r], k) }
        case (.number(let op, let number), _):
            let k = number.double!
            let p = v.floatValues(b.count)
            for r in 0..<b.count {
                let x = p[p.startIndex + r]
                out[r] = v.isValid(r) && (op == .notEqual ? !(x == k) : op.holds(x, k))
            }
        }
        return out
    }

    enum Verdict { case all, none, some }

    /// What a block's header says about a plain column: every row passes, none does, or look.
    /// `chunk` is the column's chunk in the block (nil: the column is null in every row);
    /// `dictionary` gives a text chunk's dictionary when asked (only for text tests).
    func verdict(_ h: BlockHeader, chunk: Int?, dictionary: () throws(StrataError) -> [String]) throws(StrataError) -> Verdict {
        guard expr.slot != nil else { return .some }
        guard let c = chunk else {
            if case .null(let wanted) = test { return wanted ? .all : .none }
            return .none
        }
        let nulls = h.nullCount(c)
        switch test {
        case .null(let wanted):
            return nulls == 0 ? (wanted ? .none : .all) : .some
        case .text(let list, let equal):
            let entries = try dictionary()
            let wanted = Set(list.map(ByteString.init))
            let hits = entries.reduce(0) { $0 + (wanted.contains(ByteString($1)) ? 1 : 0) }
            if hits == 0 { return equal ? .none : (nulls == 0 ? .all : .some) }
            if hits == entries.count { return equal ? (nulls == 0 ? .all : .some) : .none }
            return .some
        case .number(let op, let number):
            let v = Self.numberVerdict(h.stats(c), op, number, type: expr.type)
            return nulls > 0 && v == .all ? .some : v
        }
    }

    private static func numberVerdict(_ s: ColumnStats, _ op: Comparison, _ number: ResultValue, type: ResultType) -> Verdict {
        switch (type, number) {
        case (.int64, .int(let k)):
            return range(s.min, s.max, k, op)
        case (.int64, .float(let k)):
            return range(Double(s.min), Double(s.max), k, op)
        case (.float64, _):
            let lo = Double(bitPattern: UInt64(bitPattern: s.min)), hi = Double(bitPattern: UInt64(bitPattern: s.max))
            let k = number.double!
            if lo.isNaN { return op == .notEqual ? .all : .none }  // every value is NaN
            let v = range(lo, hi, k, op)
            if s.nanCount > 0 && v == .all && op != .notEqual { return .some }
            if s.nanCount > 0 && v == .none && op == .notEqual { return .some }
            return v
        default: return .some
        }
    }

    private static func range<T: Comparable>(_ lo: T, _ hi: T, _ k: T, _ op: Comparison) -> Verdict {
        switch op {
        case .equal: return lo == k && hi == k ? .all : (k < lo || k > hi ? .none : .some)
        case .notEqual: return k < lo || k > hi ? .all : (lo == k && hi == k ? .none : .some)
        case .less: return hi < k ? .all : (lo >= k ? .none : .some)
        case .lessOrEqual: return hi <= k ? .all : (lo > k ? .none : .some)
        case .greater: return lo > k ? .all : (hi <= k ? .none : .some)
        case .greaterOrEqual: return lo >= k ? .all : (hi < k ? .none : .some)
        }
    }
}
