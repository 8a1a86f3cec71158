// Scalar functions, CASE and the conditions inside it, and the trading session of a time,
// evaluated a vector at a time.

/// A condition resolved against a source, evaluated with SQL's three values per row.
indirect enum ResolvedCondition {
    case compare(ResolvedExpr, Comparison, ResolvedExpr)
    case isNull(ResolvedExpr, negated: Bool)
    case and(ResolvedCondition, ResolvedCondition)
    case or(ResolvedCondition, ResolvedCondition)
    case not(ResolvedCondition)

    var exprs: [ResolvedExpr] {
        switch self {
        case .compare(let a, _, let b): [a, b]
        case .isNull(let a, _): [a]
        case .and(let a, let b), .or(let a, let b): a.exprs + b.exprs
        case .not(let a): a.exprs
        }
    }

    func mapExprs(_ f: (ResolvedExpr) -> ResolvedExpr) -> ResolvedCondition {
        switch self {
        case .compare(let a, let op, let b): .compare(f(a), op, f(b))
        case .isNull(let a, let negated): .isNull(f(a), negated: negated)
        case .and(let a, let b): .and(a.mapExprs(f), b.mapExprs(f))
        case .or(let a, let b): .or(a.mapExprs(f), b.mapExprs(f))
        case .not(let a): .not(a.mapExprs(f))
        }
    }
}

/// Three-valued truth: false, true, unknown (a comparison with null).
enum Truth: UInt8 {
    case no = 0, yes = 1, unknown = 2
}

extension Vec {
    /// `n` nulls of a type.
    static func nulls(_ type: ResultType, _ n: Int) -> Vec {
        let values: Values
        switch type {
        case .int64: values = .int(0)
        case .float64: values = .float(0)
        case .string: values = .string("")
        }
        return Vec(values, valid: ArraySlice(repeating: false, count: n))
    }

    /// The text of row r (the vector holds text).
    @inline(__always)
    func text(_ r: Int) -> String {
        switch values {
        case .strings(let v): v[v.startIndex + r]
        case .string(let s): s
        default: preconditionFailure("not a text vector")
        }
    }
}

extension Evaluator {
    static func function(_ f: ScalarFunction, _ args: [ResolvedExpr], _ t: ResultType, _ b: Batch) throws(StrataError) -> Vec {
        let n = b.count
        if f == .coalesce { return try coalesce(args, t, b) }
        let x = try eval(args[0], b)
        if t == .int64 {
            // abs, floor, ceil, round of an Int64 stay Int64.
            var digits: Int64 = 0
            if f == .round, args.count > 1, case .int(let d) = args[1] { digits = d }
            let p = x.intValues(n)
            var out = [Int64](repeating: 0, count: n)
            for k in 0..<n where x.isValid(k) {
                out[k] = try ScalarMath.integer(f, p[p.startIndex + k], digits: digits)
            }
            return Vec(.ints(out[...]), valid: x.valid)
        }
        var digits = 0.0
        if f == .round, args.count > 1 {
            switch args[1] {
            case .int(let d): digits = Double(d)
            case .float(let d): digits = d
            default: break
            }
        }
        let p = x.floatValues(n)
        var out = [Double](repeating: 0, count: n)
        var valid: [Bool]? = x.valid.map(Array.init)
        for k in 0..<n {
            guard let y = ScalarMath.real(f, p[p.startIndex + k], digits: digits) else {
                if valid == nil { valid = [Bool](repeating: true, count: n) }
                valid![k] = false
                continue
            }
            out[k] = y
        }
        return Vec(.floats(out[...]), valid: valid?[...])
    }

    /// The first argument that is not null, row by row.
    private static func coalesce(_ args: [ResolvedExpr], _ t: ResultType, _ b: Batch) throws(StrataError) -> Vec {
        let vectors = try args.map { (e) throws(StrataError) in try eval(e, b) }
        let pick = (0..<b.count).map { r in vectors.firstIndex { $0.isValid(r) } }
        return Vec.select(t, b.count, vectors) { pick[$0] }
    }

    static func caseWhen(
        _ whens: [(ResolvedCondition, ResolvedExpr)], _ otherwise: ResolvedExpr?, _ t: ResultType, _ b: Batch
    ) throws(StrataError) -> Vec {
        let n = b.count
        var pick = [Int?](repeating: nil, count: n)
        var open = Array(0..<n)
        var vectors: [Vec] = []
        for (k, (condition, value)) in whens.enumerated() {
            let truth = try evaluate(condition, b)
            vectors.append(try eval(value, b))
            open = open.filter { r in
                if truth[r] == .yes { pick[r] = k; return false }
                return true
            }
        }
        if let otherwise {
            vectors.append(try eval(otherwise, b))
            for r in open { pick[r] = whens.count }
        }
        return Vec.select(t, n, vectors) { pick[$0] }
    }

    static func evaluate(_ c: ResolvedCondition, _ b: Batch) throws(StrataError) -> [Truth] {
        let n = b.count
        switch c {
        case .compare(let l, let op, let r):
            let x = try eval(l, b), y = try eval(r, b)
            var out = [Truth](repeating: .unknown, count: n)
            if l.type == .string {
                for k in 0..<n where x.isValid(k) && y.isValid(k) {
                    let p = x.text(k), q = y.text(k)
                    let less = utf8Less(p, q), greater = utf8Less(q, p)
                    out[k] = op.holds(less ? -1 : greater ? 1 : 0, 0) ? .yes : .no
                }
            } else if l.type == .int64 && r.type == .int64 {
                let p = x.intValues(n), q = y.intValues(n)
                for k in 0..<n where x.isValid(k) && y.isValid(k) { out[k] = op.holds(p[p.startIndex + k], q[q.startIndex + k]) ? .yes : .no }
            } else {
                let p = x.floatValues(n), q = y.floatValues(n)
                for k in 0..<n where x.isValid(k) && y.isValid(k) {
                    let a = p[p.startIndex + k], d = q[q.startIndex + k]
                    out[k] = (op == .notEqual ? !(a == d) : op.holds(a, d)) ? .yes : .no
                }
            }
            return out
        case .isNull(let e, let negated):
            let v = try eval(e, b)
            return (0..<n).map { v.isValid($0) == negated ? .yes : .no }
        case .and(let l, let r):
            let p = try evaluate(l, b), q = try evaluate(r, b)
            return zip(p, q).map { $0 == .no || $1 == .no ? .no : ($0 == .yes && $1 == .yes ? .yes : .unknown) }
        case .or(let l, let r):
            let p = try evaluate(l, b), q = try evaluate(r, b)
            return zip(p, q).map { $0 == .yes || $1 == .yes ? .yes : ($0 == .no && $1 == .no ? .no : .unknown) }
        case .not(let e):
            return try evaluate(e, b).map { $0 == .unknown ? .unknown : ($0 == .yes ? .no : .yes) }
        }
    }

    static func session(_ calendar: TradingCalendar, _ time: ResolvedExpr, _ unit: TimeUnit, _ b: Batch) throws(StrataError) -> Vec {
        let v = try eval(time, b)
        let t = v.intValues(b.count)
        var names = [String](repeating: "", count: b.count)
        var valid = [Bool](repeating: false, count: b.count)
        var cursor = TradingCalendar.Cursor()
        for k in 0..<b.count where v.isValid(k) {
            if let s = calendar.session(at: t[t.startIndex + k], perSecond: unit.perSecond, cursor: &cursor) {
                names[k] = calendar.sessionNames[s.session]
                valid[k] = true
            }
        }
        return Vec(.strings(names[...]), valid: valid[...])
    }
}

extension Vec {
    /// Row r from `vectors[pick(r)]` (null when nil), as a vector of type `t`.
    static func select(_ t: ResultType, _ n: Int, _ vectors: [Vec], _ pick: (Int) -> Int?) -> Vec {
        var valid = [Bool](repeating: false, count: n)
        for r in 0..<n { if let k = pick(r), vectors[k].isValid(r) { valid[r] = true } }
        switch t {
        case .int64:
            let p = vectors.map { $0.isIntLike ? $0.intValues(n) : ArraySlice(repeating: 0, count: n) }
            let out = (0..<n).map { r in valid[r] ? p[pick(r)!][p[pick(r)!].startIndex + r] : 0 }
            return Vec(.ints(out[...]), valid: valid[...])
        case .float64:
            let p = vectors.map { $0.isText ? ArraySlice(repeating: 0, count: n) : $0.floatValues(n) }
            let out = (0..<n).map { r in valid[r] ? p[pick(r)!][p[pick(r)!].startIndex + r] : 0 }
            return Vec(.floats(out[...]), valid: valid[...])
        case .string:
            let out = (0..<n).map { r in valid[r] ? vectors[pick(r)!].text(r) : "" }
            return Vec(.strings(out[...]), valid: valid[...])
        }
    }

    var isIntLike: Bool {
        switch values {
        case .ints, .int: true
        default: false
        }
    }

    var isText: Bool {
        switch values {
        case .strings, .string: true
        default: false
        }
    }
}

/// The arithmetic of the scalar functions, one value at a time.
enum ScalarMath {
    /// A Float64 result; nil outside the function's domain.
    static func real(_ f: ScalarFunction, _ x: Double, digits: Double) -> Double? {
        switch f {
        case .ln: return x < 0 ? nil : (x == 0 ? -.infinity : CMath.log(x))
        case .log10: return x < 0 ? nil : (x == 0 ? -.infinity : CMath.log10(x))
        case .exp: return CMath.exp(x)
        case .abs: return Swift.abs(x)
        case .sqrt: return x < 0 ? nil : x.squareRoot()
        case .floor: return x.rounded(.down)
        case .ceil: return x.rounded(.up)
        case .round:
            let scale = CMath.pow(10, digits)
            guard scale.isFinite, scale > 0 else { return x }
            let y = (x * scale).rounded(.toNearestOrAwayFromZero) / scale
            return y.isFinite ? y : x
        case .coalesce: return x
        }
    }

    /// An Int64 result of abs, floor, ceil and round (to `digits` places: below 0, to tens...).
    static func integer(_ f: ScalarFunction, _ x: Int64, digits: Int64) throws(StrataError) -> Int64 {
        switch f {
        case .abs:
            if x == .min { throw Arithmetic.overflow(.subtract) }
            return Swift.abs(x)
        case .round:
            guard digits < 0 else { return x }
            if digits < -18 { return 0 }
            var unit: Int64 = 1
            for _ in 0..<(-digits) { unit *= 10 }
            let q = x / unit, rest = x % unit
            var r = q
            if Swift.abs(rest) * 2 >= unit { r += x < 0 ? -1 : 1 }
            let (v, o) = r.multipliedReportingOverflow(by: unit)
            if o { throw Arithmetic.overflow(.multiply) }
            return v
        default: return x
        }
    }
}
