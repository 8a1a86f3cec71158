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
        // Group keys: GROUP BY expressions and select items without aggregates.
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
        // Aggregates, resolved against rows; outputs, resolved against aggregates and keys.
        var aggExprs: [Expr] = []
        func post(_ e: Expr) throws(StrataError) -> ResolvedExpr {
            if let k = a.keyExprs.firstIndex(of: e) {
                return .key(k, try resolveRow(e, layout).type)
            }
            switch e {
            case .aggregate(let f, let args):
                if args.count != (f == .count ? (args.isEmpty ? 0 : 1) : f.arity) {
                    throw .badInput("\(f.rawValue)() takes \(f == .count ? "* or one column" : f.arity == 1 ? "one argument" : "\(f.arity) arguments"), not \(args.count): \(e)")
                }
                if let i = aggExprs.firstIndex(of: e) { return .aggregate(i, a.aggregates[i].type) }
                var bound: [ResolvedExpr] = []
                for arg in args {
                    if arg.hasAggregate { throw .badInput("aggregates cannot be nested: \(e)") }
                    let b = try resolveRow(arg, layout)
                    if b.type == .string && f != .count && f != .first && f != .last {
                        throw .badInput("\(f.rawValue)() needs numbers, and \(arg) is text")
                    }
                    bound.append(b)
                }
                aggExprs.append(e)
                a.aggregates.append(AggregateSpec(function: f, args: bound, timeSlot: layout.timeSlot, text: e.description))
                return .aggregate(aggExprs.count - 1, a.aggregates.last!.type)
            case .arithmetic(let op, let l, let r):
                let x = try post(l), y = try post(r)
                return .arithmetic(op, x, y, try Arithmetic.resultType(op, x.type, y.type, e.description))
            case .negate(let x):
                let b = try post(x)
                if b.type == .string { throw .badInput("cannot negate text in \(e)") }
                return .negate(b, b.type)
            case .int(let v): return .int(v)
            case .float(let v): return .float(v)
            case .column(let n, _):
                throw .badInput("column \(n) must be aggregated or listed in GROUP BY")
            }
        }
        for item in items { a.outputs.append(try post(item.expr!)) }
        for agg in a.aggregates where agg.type == .string && (agg.function == .min || agg.function == .max || agg.function == .sum) {
            throw .badInput("\(agg.function.rawValue)() needs numbers")
        }
        for agg in a.aggregates where agg.function == .first || agg.function == .last {
            if agg.args[0].type == .string { throw .badInput("\(agg.function.rawValue)() of text is not supported") }
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
}
