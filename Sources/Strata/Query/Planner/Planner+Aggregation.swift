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
        }
        try groupKeys(q, items, layout, &a)
        var outputs = OutputResolver(planner: self, layout: layout)
        for item in items { a.outputs.append(try outputs.resolve(item.expr!, &a)) }
        try Self.checkAggregates(a)
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
        for e in q.groupBy where !keyExprs.contains(e) {
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
        }
        a.bySymbol = a.keys.contains { if case .symbol = $0 { true } else { false } }
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
        case .arithmetic(let op, let l, let r):
            let x = try resolve(l, &a), y = try resolve(r, &a)
            return .arithmetic(op, x, y, try Arithmetic.resultType(op, x.type, y.type, e.description))
        case .negate(let x):
            let b = try resolve(x, &a)
            if b.type == .string { throw .badInput("cannot negate text in \(e)") }
            return .negate(b, b.type)
        case .int(let v): return .int(v)
        case .float(let v): return .float(v)
        case .column(let n, _):
            throw .badInput("column \(n) must be aggregated or listed in GROUP BY")
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
        for arg in args {
            if arg.hasAggregate { throw .badInput("aggregates cannot be nested: \(e)") }
            let b = try planner.resolveRow(arg, layout)
            if b.type == .string && f != .count && f != .first && f != .last && f != .min && f != .max {
                throw .badInput("\(f.rawValue)() needs numbers, and \(arg) is text")
            }
            resolved.append(b)
        }
        aggregateExprs.append(e)
        a.aggregates.append(AggregateSpec(function: f, args: resolved, timeSlot: layout.timeSlot, text: e.description))
        return .aggregate(aggregateExprs.count - 1, a.aggregates.last!.type)
    }
}
