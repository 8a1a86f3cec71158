// Planning window functions. A query with windows runs in two stages: the query without them
// (WHERE, SAMPLE BY, GROUP BY as written) produces the window-free parts of its expressions as
// columns `_b0, _b1, ...`; then each window function is computed over those rows, partition by
// partition, as a further column `_w0, _w1, ...` (a window's arguments may use earlier windows);
// then the select list, ORDER BY and LIMIT are evaluated over both.

/// The windows of a plan and the plan of the rows they run over.
final class WindowStage {
    let inner: Plan
    /// The windows, in the order they are computed (each may read the ones before).
    let steps: [WindowStep]
    /// The partition keys and the order keys (slots of the stage's layout), shared by every window.
    let partition: [Int]
    let order: [(slot: Int, descending: Bool)]
    /// The inner rows arrive partition by partition, in window order (a table's rows by symbol
    /// and time): windows are computed a partition at a time, in bounded memory.
    let streams: Bool

    init(inner: Plan, steps: [WindowStep], partition: [Int], order: [(slot: Int, descending: Bool)], streams: Bool) {
        self.inner = inner
        self.steps = steps
        self.partition = partition
        self.order = order
        self.streams = streams
    }
}

/// One window function, resolved against the stage's layout.
struct WindowStep {
    var function: WindowCall.Function
    var args: [ResolvedExpr]
    var frame: WindowFrame
    var type: ResultType
    /// ema's smoothing factor; lag/lead's offset.
    var alpha = 0.0
    var offset = 1
    var text: String
}

extension Planner {
    /// Splits a query with window functions into its inner query and the window stage.
    func planWithWindows(_ q: Query) throws(StrataError) -> Plan {
        var split = WindowSplit(named: try Self.namedWindows(q))
        var items: [SelectItem] = []
        for item in q.items {
            guard let e = item.expr else { throw .badInput("SELECT * cannot be combined with window functions: name the columns") }
            items.append(SelectItem(expr: try split.outer(e), alias: item.alias, text: item.text))
        }
        var orderBy: [OrderItem] = []
        for o in q.orderBy {
            if case .int = o.expr { orderBy.append(o); continue }
            if case .column(let n, nil) = o.expr, items.contains(where: { $0.alias == n || $0.text == n }) { orderBy.append(o); continue }
            orderBy.append(OrderItem(try split.outer(o.expr), descending: o.descending))
        }
        guard let spec = split.spec else { throw .badInput("window functions need OVER (...)") }
        let partitionKeys = try spec.partitionBy.map { (e) throws(StrataError) in try split.base(e) }
        let orderKeys = try spec.orderBy.map { (o) throws(StrataError) in (try split.base(o.expr), o.descending) }
        // The inner query: every window-free part, as written, with the query's own clauses.
        var inner = Query(
            split.bases.enumerated().map { SelectItem(expr: $0.element, alias: "_b\($0.offset)", text: "_b\($0.offset)") },
            from: q.source, asofJoin: q.asofJoin, where: q.conditions, sampleBy: q.sampleBy, latestOn: q.latestOn, groupBy: q.groupBy)
        inner.joinKey = q.joinKey
        inner.latestOnColumn = q.latestOnColumn
        inner.partitionColumn = q.partitionColumn
        let innerPlan = try plan(inner)
        var layout = SourceLayout()
        layout.timeUnit = innerPlan.layout.timeUnit
        for (k, t) in innerPlan.types.enumerated() { _ = layout.add(nil, "_b\(k)", t) }
        var steps: [WindowStep] = []
        for (call, text) in zip(split.calls, split.texts) {
            let step = try windowStep(call, text, spec, layout)
            steps.append(step)
            _ = layout.add(nil, "_w\(steps.count - 1)", step.type)
        }
        var outer = Plan(snapshot: snapshot, layout: layout, table: nil, relation: nil, join: nil)
        var shaped = Query(items, from: .table("", alias: nil))
        shaped.orderBy = orderBy
        shaped.limit = q.limit
        try shapeRows(shaped, items, into: &outer)
        let partition = partitionKeys.map { Self.baseSlot($0) }, order = orderKeys.map { (Self.baseSlot($0.0), $0.1) }
        let streams = Self.streams(innerPlan, partition, order)
        outer.windowStage = WindowStage(inner: innerPlan, steps: steps, partition: partition, order: order, streams: streams)
        return outer
    }

    private static func baseSlot(_ e: Expr) -> Int {
        guard case .column(let n, nil) = e, let k = Int(n.dropFirst(2)) else { preconditionFailure("a base column") }
        return k
    }

    /// Whether a table scan gives the rows partition by partition in window order: partitioned by
    /// the symbol (alone), ordered by the time ascending or not at all.
    private static func streams(_ inner: Plan, _ partition: [Int], _ order: [(Int, Bool)]) -> Bool {
        guard inner.table != nil, inner.aggregation == nil, !inner.latest, partition.count == 1 else { return false }
        guard inner.rowItems[partition[0]].slot == inner.layout.symbolSlot else { return false }
        if order.isEmpty { return true }
        return order.count == 1 && !order[0].1 && inner.rowItems[order[0].0].slot == inner.layout.timeSlot
    }

    /// The named windows, each with its base (`WINDOW w2 AS (w1 ROWS ...)`) filled in.
    private static func namedWindows(_ q: Query) throws(StrataError) -> [String: WindowSpec] {
        var named: [String: WindowSpec] = [:]
        for (name, spec) in q.windows { named[name] = try Self.filledIn(spec, named) }
        return named
    }

    static func filledIn(_ spec: WindowSpec, _ named: [String: WindowSpec]) throws(StrataError) -> WindowSpec {
        guard let base = spec.base else { return spec }
        guard var b = named[base] else { throw .badInput("unknown window \(base): define it in WINDOW \(base) AS (...)") }
        if !spec.partitionBy.isEmpty { throw .badInput("a window based on \(base) cannot have its own PARTITION BY") }
        if !spec.orderBy.isEmpty {
            if !b.orderBy.isEmpty { throw .badInput("a window based on \(base) cannot have its own ORDER BY: \(base) has one") }
            b.orderBy = spec.orderBy
        }
        if spec.frame != nil { b.frame = spec.frame }
        b.base = nil
        return b
    }

    /// A window call resolved against the stage's layout: its arguments, frame and type.
    private func windowStep(_ call: WindowCall, _ text: String, _ spec: WindowSpec, _ layout: SourceLayout) throws(StrataError) -> WindowStep {
        let args = try call.args.map { (a) throws(StrataError) in try resolveRow(a, layout) }
        let ordered = !spec.orderBy.isEmpty
        var frame = call.window.frame ?? (ordered ? WindowFrame(.range, from: .unboundedPreceding) : WindowFrame(.rows, from: .unboundedPreceding, to: .unboundedFollowing))
        frame = try Self.framed(frame, spec, layout, text)
        var step = WindowStep(function: call.function, args: args, frame: frame, type: .float64, text: text)
        switch call.function {
        case .window(let f): try Self.windowFunction(f, &step, call, ordered)
        case .aggregate(let f): try Self.windowAggregate(f, &step)
        }
        return step
    }

    private static func windowFunction(_ f: WindowFunction, _ step: inout WindowStep, _ call: WindowCall, _ ordered: Bool) throws(StrataError) {
        let args = step.args, text = step.text
        switch f {
        case .rowNumber:
            if !args.isEmpty { throw .badInput("row_number() takes no arguments: \(text)") }
            step.type = .int64
        case .lag, .lead:
            guard (1...3).contains(args.count) else { throw .badInput("\(f.rawValue)(x [, offset [, default]]) takes one to three arguments: \(text)") }
            if args.count > 1 {
                guard case .int(let k) = args[1], k >= 0, k <= 1_000_000 else { throw .badInput("the offset of \(text) must be a whole number from 0 to 1000000") }
                step.offset = Int(k)
            }
            step.type = args[0].type
            if args.count > 2 {
                step.type = try commonType([args[0], args[2]], .window(call))
                step.args[2] = typed(args[2], step.type)
            }
        case .firstValue, .lastValue:
            guard args.count == 1 else { throw .badInput("\(f.rawValue)(x) takes one argument: \(text)") }
            step.type = args[0].type
        case .ema:
            guard args.count == 2, args[0].type != .string else { throw .badInput("ema(x, alpha) or ema(x, n) takes a number and a constant: \(text)") }
            switch args[1] {
            case .int(let n) where n >= 1: step.alpha = 2 / (Double(n) + 1)
            case .float(let a) where a > 0 && a <= 1: step.alpha = a
            default: throw .badInput("ema(x, alpha) needs 0 < alpha <= 1, or ema(x, n) a whole n >= 1: \(text)")
            }
            if !ordered { throw .badInput("\(text) needs ORDER BY in its window") }
        }
        if (f == .lag || f == .lead || f == .rowNumber) && !ordered { throw .badInput("\(text) needs ORDER BY in its window") }
    }

    private static func windowAggregate(_ f: AggregateFunction, _ step: inout WindowStep) throws(StrataError) {
        let args = step.args, text = step.text
        switch f {
        case .count:
            if args.count > 1 { throw .badInput("count(*) or count(x) over a window: \(text)") }
            step.type = .int64
        case .sum, .avg, .min, .max, .stddev, .stddevSamp, .stddevPop, .variance, .varSamp, .varPop:
            guard args.count == 1 else { throw .badInput("\(f.rawValue)() takes one argument: \(text)") }
            if args[0].type == .string { throw .badInput("\(text) needs numbers") }
            step.type = (f == .sum || f == .min || f == .max) ? args[0].type : .float64
        default:
            throw .badInput("\(f.rawValue)() is not supported over a window (avg, sum, min, max, count, stddev, variance and their _samp/_pop forms are)")
        }
    }

    /// Checks a frame and converts intervals to the order key's units.
    private static func framed(_ frame: WindowFrame, _ spec: WindowSpec, _ layout: SourceLayout, _ text: String) throws(StrataError) -> WindowFrame {
        var f = frame
        if f.start == .unboundedFollowing || f.end == .unboundedPreceding { throw .badInput("the frame of \(text) runs backwards") }
        guard f.kind == .range else { return f }
        let offsets = [f.start, f.end].contains { b in
            switch b {
            case .preceding, .following, .precedingSeconds, .followingSeconds: true
            default: false
            }
        }
        if offsets && spec.orderBy.count != 1 { throw .badInput("a RANGE frame with an offset needs exactly one ORDER BY key: \(text)") }
        let perSecond = layout.timeUnit?.perSecond ?? 1000
        func units(_ b: WindowFrame.Bound) throws(StrataError) -> WindowFrame.Bound {
            switch b {
            case .precedingSeconds(let s), .followingSeconds(let s):
                let (v, o) = s.multipliedReportingOverflow(by: perSecond)
                if o { throw .badInput("the interval in \(text) is too large") }
                if case .precedingSeconds = b { return .preceding(v) }
                return .following(v)
            default: return b
            }
        }
        f.start = try units(f.start)
        f.end = try units(f.end)
        return f
    }
}

/// Collects the parts of a query's expressions: window-free parts become base columns of the inner
/// query, window calls become window columns; what is left refers to them by name.
private struct WindowSplit {
    let named: [String: WindowSpec]
    var bases: [Expr] = []
    var calls: [WindowCall] = []
    /// Each call as written, for messages and names.
    var texts: [String] = []
    /// The PARTITION BY and ORDER BY every window of the query shares.
    var spec: WindowSpec?

    init(named: [String: WindowSpec]) { self.named = named }

    /// The expression with its window-free parts and windows replaced by column references.
    mutating func outer(_ e: Expr) throws(StrataError) -> Expr {
        if !e.hasWindow {
            switch e {
            case .int, .float, .null, .text: return e
            default: return try base(e)
            }
        }
        switch e {
        case .window(let call): return try window(call)
        case .arithmetic(let op, let a, let b): return .arithmetic(op, try outer(a), try outer(b))
        case .negate(let a): return .negate(try outer(a))
        case .function(let f, let args):
            var out: [Expr] = []
            for a in args { out.append(try outer(a)) }
            return .function(f, out)
        case .caseWhen(let whens, let otherwise):
            var out: [WhenClause] = []
            for w in whens { out.append(WhenClause(try condition(w.condition), then: try outer(w.value))) }
            return .caseWhen(out, otherwise: try otherwise.map { (x) throws(StrataError) in try outer(x) })
        default:
            throw .badInput("a window function cannot be inside \(e)")
        }
    }

    private mutating func condition(_ c: BoolExpr) throws(StrataError) -> BoolExpr {
        switch c {
        case .compare(let a, let op, let b): return .compare(try outer(a), op, try outer(b))
        case .isNull(let a, let negated): return .isNull(try outer(a), negated: negated)
        case .and(let a, let b): return .and(try condition(a), try condition(b))
        case .or(let a, let b): return .or(try condition(a), try condition(b))
        case .not(let a): return .not(try condition(a))
        }
    }

    /// A window-free expression as a column of the inner query.
    mutating func base(_ e: Expr) throws(StrataError) -> Expr {
        if e.hasWindow { throw .badInput("a window function cannot be used in PARTITION BY or ORDER BY of a window: \(e)") }
        if let k = bases.firstIndex(of: e) { return .column("_b\(k)") }
        bases.append(e)
        return .column("_b\(bases.count - 1)")
    }

    private mutating func window(_ call: WindowCall) throws(StrataError) -> Expr {
        let spec = try Planner.filledIn(call.window, named)
        let shape = WindowSpec(partitionBy: spec.partitionBy, orderBy: spec.orderBy)
        if let known = self.spec, known != shape {
            throw .badInput("the windows of one query must share PARTITION BY and ORDER BY (frames may differ): \(Expr.window(call))")
        }
        self.spec = shape
        var args: [Expr] = []
        for a in call.args { args.append(try outer(a)) }
        let resolved = WindowCall(call.function, args, over: WindowSpec(partitionBy: spec.partitionBy, orderBy: spec.orderBy, frame: spec.frame))
        if let k = calls.firstIndex(of: resolved) { return .column("_w\(k)") }
        calls.append(resolved)
        texts.append(Expr.window(call).description)
        return .column("_w\(calls.count - 1)")
    }
}
