// Planning aggregates: group keys, SAMPLE BY buckets, the aggregates resolved against the source,
// and the output expressions over aggregates and keys.

extension Planner {
    func aggregation(_ q: Query, _ items: [SelectItem], _ plan: inout Plan) throws(StrataError) -> AggregationPlan {
        let layout = plan.layout
        var a = AggregationPlan()
        if let s = q.sampleBy {
            let unit = layout.timeUnit ?? .milliseconds
            let (step, o) = s.seconds.multipliedReportingOverflow(by: unit.perSecond)
            if o { throw .badInput("SAMPLE BY interval is too large") }
            a.bucketer = Bucketer(step: step, perSecond: unit.perSecond, zone: try s.timeZone.map { (z) throws(StrataError) in try ZoneRules.load(z) })
            a.fill = s.fill
            if let name = s.session {
                try alignToSession(name, s, layout, &a, &plan)
            }
        }
        try groupKeys(q, items, layout, &a)
        var outputs = OutputResolver(planner: self, layout: layout)
        for item in items { a.outputs.append(try outputs.resolve(item.expr!, &a)) }
        try Self.checkAggregates(a)
        if let twap = a.aggregates.first(where: { $0.function == .twap }) {
            let oneSymbol = plan.symbolFilter.map { $0.subtracting(plan.excludedSymbols).count <= 1 } ?? (plan.table?.symbols.count ?? 2 <= 1)
            guard plan.table != nil, layout.timeSlot != nil, a.bySymbol || oneSymbol else {
                throw .badInput("\(twap.text) weights values by time within one symbol's rows: group by the symbol (or pick one), from a table")
            }
        }
        a.statsAnswerable = plan.join == nil && a.extras.isEmpty && a.aggregates.allSatisfy { $0.fromStats(timeSlot: layout.timeSlot) }
        a.countsOnly = a.aggregates.allSatisfy { $0.function == .count && $0.args.isEmpty }
        if !a.fill.isEmpty && a.fill != [.none] {
            guard a.bucketer != nil else { throw .badInput("FILL needs SAMPLE BY") }
            if a.fill.count != 1 && a.fill.count != a.aggregates.count {
                throw .badInput("FILL has \(a.fill.count) values for \(a.aggregates.count) aggregates: give one, or one per aggregate")
            }
        }
        return a
    }

    /// Group keys: GROUP BY expressions and select items without aggregates, as the symbol, the
    /// SAMPLE BY bucket, or an extra expression evaluated per row.
    private func groupKeys(_ q: Query, _ items: [SelectItem], _ layout: SourceLayout, _ a: inout AggregationPlan) throws(StrataError) {
        var keyExprs: [Expr] = []
        for written in q.groupBy {
            // A select item's alias names its expression, unless a column has that name.
            var e = written
            if case .column(let n, nil) = written, (try? layout.resolve(n, nil)) == nil, let item = items.first(where: { $0.alias == n }) {
                e = item.expr!
            }
            if keyExprs.contains(e) { continue }
            if e.hasAggregate { throw .badInput("GROUP BY \(e): cannot group by an aggregate") }
            keyExprs.append(e)
        }
        for item in items where !item.expr!.hasAggregate {
            if case .int = item.expr! { continue }
            if case .float = item.expr! { continue }
            if !keyExprs.contains(item.expr!) { keyExprs.append(item.expr!) }
        }
        for e in keyExprs {
            let b = try resolveRow(e, layout)
            if let s = b.slot, s == layout.symbolSlot {
                a.keys.append(.symbol)
            } else if let s = b.slot, s == layout.timeSlot, a.bucketer != nil {
                a.keys.append(.bucket)
            } else {
                a.keys.append(.extra(a.extras.count))
                a.extras.append(b)
            }
            a.keyExprs.append(e)
            a.keyTypes.append(b.type)
        }
        a.bySymbol = a.keys.contains { if case .symbol = $0 { true } else { false } }
    }

    /// `ALIGN TO SESSION 'CAL'`: buckets cut from session starts; rows outside sessions filtered out.
    private func alignToSession(_ name: String, _ s: SampleBy, _ layout: SourceLayout, _ a: inout AggregationPlan, _ plan: inout Plan) throws(StrataError) {
        if s.timeZone != nil { throw .badInput("ALIGN TO SESSION uses the calendar's time zone: leave out TIME ZONE") }
        if !s.fill.isEmpty && s.fill != [.none] { throw .badInput("FILL is not supported with ALIGN TO SESSION") }
        let session = try resolveRow(.session(name), layout)
        if case .session(let calendar, _, _) = session { a.bucketer!.calendar = calendar }
        let inSession = Predicate(expr: session, test: .null(false))
        plan.predicates.append(inSession)
        plan.leftPredicates.append(inSession)
    }

    private static func checkAggregates(_ a: AggregationPlan) throws(StrataError) {
        for agg in a.aggregates where agg.type == .string && agg.function == .sum {
            throw .badInput("\(agg.function.rawValue)() needs numbers")
        }
    }
}

/// Resolves output expressions against aggregates and group keys, collecting each distinct
/// aggregate once (its arguments resolved against rows).
private struct OutputResolver {
    let planner: Planner
    let layout: SourceLayout
    var aggregateExprs: [Expr] = []

    init(planner: Planner, layout: SourceLayout) {
        self.planner = planner
        self.layout = layout
    }

    mutating func resolve(_ e: Expr, _ a: inout AggregationPlan) throws(StrataError) -> ResolvedExpr {
        if let k = a.keyExprs.firstIndex(of: e) {
            return .key(k, try planner.resolveRow(e, layout).type)
        }
        switch e {
        case .aggregate(let f, let args):
            return try aggregate(e, f, args, &a)
        case .column(let n, _):
            throw .badInput("column \(n) must be aggregated or listed in GROUP BY")
        case .session:
            throw .badInput("\(e) must be listed in GROUP BY to be selected with aggregates")
        case .window(let w):
            throw .badInput("window function \(w.function.name)() is not allowed here: \(e)")
        default:
            return try planner.combine(e) { (child) throws(StrataError) in try resolve(child, &a) }
        }
    }

    private mutating func aggregate(
        _ e: Expr, _ f: AggregateFunction, _ args: [Expr], _ a: inout AggregationPlan
    ) throws(StrataError) -> ResolvedExpr {
        if args.count != (f == .count ? (args.isEmpty ? 0 : 1) : f.arity) {
            throw .badInput("\(f.rawValue)() takes \(f == .count ? "* or one column" : f.arity == 1 ? "one argument" : "\(f.arity) arguments"), not \(args.count): \(e)")
        }
        if let i = aggregateExprs.firstIndex(of: e) { return .aggregate(i, a.aggregates[i].type) }
        var resolved: [ResolvedExpr] = []
        var args = args
        var q = 0.5
        if [.quantileCont, .quantileDisc, .quantile].contains(f) {
            q = try Self.quantilePosition(args[1], e)
            args.removeLast()
        }
        for arg in args {
            if arg.hasAggregate { throw .badInput("aggregates cannot be nested: \(e)") }
            let b = try planner.resolveRow(arg, layout)
            if b.type == .string && f != .count && f != .first && f != .last && f != .min && f != .max {
                throw .badInput("\(f.rawValue)() needs numbers, and \(arg) is text")
            }
            resolved.append(b)
        }
        aggregateExprs.append(e)
        a.aggregates.append(AggregateSpec(function: f, args: resolved, timeSlot: layout.timeSlot, quantile: q, text: e.description))
        return .aggregate(aggregateExprs.count - 1, a.aggregates.last!.type)
    }

    /// The q of quantile_cont/quantile_disc: a constant from 0 to 1.
    static func quantilePosition(_ arg: Expr, _ e: Expr) throws(StrataError) -> Double {
        let q: Double
        switch arg {
        case .int(let v): q = Double(v)
        case .float(let v): q = v
        default: throw .badInput("the position in \(e) must be a constant number from 0 to 1")
        }
        guard q >= 0 && q <= 1 else { throw .badInput("the position in \(e) must be from 0 to 1, not \(q)") }
        return q
    }
}
