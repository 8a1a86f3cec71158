import Dispatch
import Synchronization


extension Snapshot {
    /// Runs a query in the SQL dialect of `strata query` and returns every row.
    public func query(_ sql: String) throws(StrataError) -> QueryResult {
        try query(try SQLParser.parse(sql))
    }

    /// Runs a query and returns every row.
    public func query(_ q: Query) throws(StrataError) -> QueryResult {
        var out: QueryResult? = nil
        try query(q, batchRows: .max) { (r) throws(StrataError) in
            if out == nil { out = r } else { out!.append(r) }
        }
        return out!
    }

    /// Runs a query and hands its rows to `body` in batches of about `batchRows` (at least one call,
    /// possibly with no rows). Row queries without ORDER BY stream: memory stays bounded whatever the
    /// table size. Aggregates, LATEST ON and ORDER BY collect their rows first.
    public func query(_ q: Query, batchRows: Int = 65_536, _ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
        let plan = try Planner(snapshot: self).plan(q)
        try plan.run(batchRows: max(1, batchRows), body)
    }
}

// MARK: - Sources

/// Where rows come from: a table (with its per-symbol index) or a materialised subquery, optionally
/// joined as-of with a second table. Columns are numbered ("slots"): for a table, 0 is the symbol,
/// 1 the time, 2... the value columns; a joined table's time and value columns follow.
struct SourceLayout {
    struct Column {
        var qualifier: String?
        var name: String
        var slot: Int
        var type: ResultType
    }

    var columns: [Column] = []
    var slotTypes: [ResultType] = []
    var symbolSlot: Int?
    var timeSlot: Int?
    var timeUnit: TimeUnit?
    var leftAlias: String?
    var rightAlias: String?

    mutating func add(_ qualifier: String?, _ name: String, _ type: ResultType) -> Int {
        let slot = slotTypes.count
        slotTypes.append(type)
        columns.append(Column(qualifier: qualifier, name: name, slot: slot, type: type))
        return slot
    }

    func resolve(_ name: String, _ qualifier: String?) throws(StrataError) -> (Int, ResultType) {
        if let qualifier, qualifier != leftAlias, qualifier != rightAlias {
            let known = [leftAlias, rightAlias].compactMap { $0 }.joined(separator: ", ")
            throw .badInput("unknown table or alias '\(qualifier)' in \(qualifier).\(name) (known: \(known.isEmpty ? "none" : known))")
        }
        let matches = columns.filter { $0.name == name && (qualifier == nil || $0.qualifier == qualifier) }
        if matches.count == 1 { return (matches[0].slot, matches[0].type) }
        if matches.count > 1 {
            // An unqualified name on both sides of a join: the left one, if it is the symbol or time.
            if let left = matches.first(where: { $0.qualifier == leftAlias }), left.slot == symbolSlot || left.slot == timeSlot {
                return (left.slot, left.type)
            }
            throw .badInput("column \(name) is ambiguous: qualify it with a table alias")
        }
        let names = columns.map { c in c.qualifier.map { "\($0).\(c.name)" } ?? c.name }
        throw .badInput("unknown column \(qualifier.map { "\($0)." } ?? "")\(name) (columns: \(names.joined(separator: ", ")))")
    }
}

/// The right side of an ASOF JOIN: a table, its value columns by slot.
struct JoinSide {
    var table: Catalog.TableState
    var timeSlot: Int
    /// Slot → value column index of the right table, for the slots the query reads.
    var columns: [(slot: Int, column: Int)]
}

// MARK: - Planning

struct Planner {
    let snapshot: Snapshot

    func plan(_ q: Query) throws(StrataError) -> Plan {
        var layout = SourceLayout()
        var table: Catalog.TableState? = nil
        var relation: QueryResult? = nil
        switch q.source {
        case .table(let name, let alias):
            let t = try snapshot.tableState(name)
            table = t
            let a = alias ?? name
            layout.leftAlias = a
            layout.timeUnit = t.schema.timeUnit
            layout.symbolSlot = layout.add(a, t.schema.symbolColumn, .string)
            layout.timeSlot = layout.add(a, t.schema.timeColumn, .int64)
            for c in t.schema.columns { _ = layout.add(a, c.name, c.type == .int64 ? .int64 : .float64) }
        case .subquery(let inner, let alias):
            // Planned once and run to completion: the outer query reads its rows.
            let innerPlan = try Planner(snapshot: snapshot).plan(inner)
            var rows: QueryResult? = nil
            try innerPlan.run(batchRows: .max) { (batch) throws(StrataError) in
                if rows == nil { rows = batch } else { rows!.append(batch) }
            }
            let r = rows!
            relation = r
            layout.leftAlias = alias
            layout.timeUnit = innerPlan.layout.timeUnit
            for (name, type) in zip(r.names, r.types) {
                let slot = layout.add(alias, name, type)
                if name == innerPlan.symbolName && type == .string { layout.symbolSlot = slot }
                if name == innerPlan.timeName && type == .int64 { layout.timeSlot = slot }
            }
        }
        var join: JoinSide? = nil
        if let j = q.asofJoin {
            guard layout.symbolSlot != nil, layout.timeSlot != nil else {
                throw .badInput("ASOF JOIN needs a symbol and a time column on the left")
            }
            let t = try snapshot.tableState(j.table)
            if let unit = layout.timeUnit, unit != t.schema.timeUnit {
                throw .badInput("ASOF JOIN of tables with different time units (\(unit) and \(t.schema.timeUnit)) is not supported")
            }
            let a = j.alias ?? j.table
            if a == layout.leftAlias { throw .badInput("both sides of the join are called \(a): give one an alias") }
            layout.rightAlias = a
            layout.columns.append(.init(qualifier: a, name: t.schema.symbolColumn, slot: layout.symbolSlot!, type: .string))
            let ts = layout.add(a, t.schema.timeColumn, .int64)
            var cols: [(Int, Int)] = []
            for (i, c) in t.schema.columns.enumerated() { cols.append((layout.add(a, c.name, c.type == .int64 ? .int64 : .float64), i)) }
            join = JoinSide(table: t, timeSlot: ts, columns: cols)
            if let key = q.joinKey {
                let left = layout.columns.first { $0.slot == layout.symbolSlot! }!.name
                if key != left || key != t.schema.symbolColumn {
                    throw .badInput("ASOF JOIN ... ON (\(key)): joins match on the symbol column (\(left) and \(t.schema.symbolColumn)); other keys are not supported")
                }
            }
        }
        var plan = Plan(snapshot: snapshot, layout: layout, table: table, relation: relation, join: join)
        plan.symbolName = layout.symbolSlot.map { s in layout.columns.first { $0.slot == s }!.name }
        plan.timeName = layout.timeSlot.map { s in layout.columns.first { $0.slot == s }!.name }
        if q.latestOn {
            if let c = q.latestOnColumn, c != plan.timeName {
                throw .badInput("LATEST ON \(c): the rows are ordered by the time column \(plan.timeName ?? "(none)")")
            }
            if let c = q.partitionColumn, c != plan.symbolName {
                throw .badInput("PARTITION BY \(c): LATEST ON partitions by the symbol column \(plan.symbolName ?? "(none)")")
            }
        }
        try conditions(q.conditions, into: &plan)
        try shape(q, into: &plan)
        let valueSlots = 2..<(2 + (table?.schema.columns.count ?? 0))
        plan.valueColumns = plan.usedSlots.sorted().filter { valueSlots.contains($0) }.map { ($0, $0 - 2) }
        plan.columnIndices = plan.valueColumns.map(\.column)
        let scaled = plan.scaledSlots
        plan.scaledColumns = scaled.isEmpty ? nil : plan.valueColumns.map { scaled.contains($0.slot) }
        return plan
    }

    func bindRow(_ e: Expr, _ layout: SourceLayout) throws(StrataError) -> Bound {
        switch e {
        case .column(let name, let q):
            let (slot, type) = try layout.resolve(name, q)
            return .slot(slot, type)
        case .int(let v): return .int(v)
        case .float(let v): return .float(v)
        case .negate(let a):
            let b = try bindRow(a, layout)
            if b.type == .string { throw .badInput("cannot negate text in \(e)") }
            return .negate(b, b.type)
        case .arithmetic(let op, let l, let r):
            let a = try bindRow(l, layout), b = try bindRow(r, layout)
            return .arithmetic(op, a, b, try Arithmetic.resultType(op, a.type, b.type, e.description))
        case .aggregate(let f, _):
            throw .badInput("aggregate \(f.rawValue)() is not allowed here: \(e)")
        }
    }

    private func conditions(_ conditions: [Condition], into plan: inout Plan) throws(StrataError) {
        let layout = plan.layout
        let unit = layout.timeUnit ?? .milliseconds
        func timeBound(_ op: Comparison, _ v: Int64) throws(StrataError) {
            switch op {
            case .equal: plan.lo = max(plan.lo, v); plan.hi = min(plan.hi, v)
            case .less: if v == .min { plan.hi = .min; plan.lo = .max } else { plan.hi = min(plan.hi, v - 1) }
            case .lessOrEqual: plan.hi = min(plan.hi, v)
            case .greater: if v == .max { plan.hi = .min; plan.lo = .max } else { plan.lo = max(plan.lo, v + 1) }
            case .greaterOrEqual: plan.lo = max(plan.lo, v)
            case .notEqual:
                plan.predicates.append(Predicate(expr: .slot(layout.timeSlot!, .int64), op: .notEqual, number: .int(v)))
            }
        }
        func time(_ l: Literal) throws(StrataError) -> Int64 {
            switch l {
            case .int(let v): return v
            case .string(let s): return try TimeValue.text(s).resolve(unit)
            case .float(let d):
                guard let v = Int64(exactly: d) else { throw .badInput("time \(d) is not an integer in the table's unit") }
                return v
            }
        }
        func symbolText(_ l: Literal) throws(StrataError) -> String {
            guard case .string(let s) = l else { throw .badInput("a symbol is text: write it in quotes, as '\(l)'") }
            return s
        }
        func number(_ l: Literal, _ e: Expr) throws(StrataError) -> ResultValue {
            switch l {
            case .int(let v): return .int(v)
            case .float(let d): return .float(d)
            case .string(let s): throw .badInput("\(e) is a number column; compare it with a number, not '\(s)'")
            }
        }
        for c in conditions {
            switch c {
            case .symbols(let list):
                guard layout.symbolSlot != nil else { throw .badInput("the source has no symbol column") }
                plan.restrictSymbols(list)
            case .time(let op, let v):
                guard layout.timeSlot != nil else { throw .badInput("the source has no time column") }
                try timeBound(op, try v.resolve(unit))
            case .compare(let e, let op, let lit):
                let b = try bindRow(e, layout)
                if let s = b.slot, s == layout.symbolSlot {
                    guard op == .equal || op == .notEqual else { throw .badInput("symbols can be compared with = or IN only") }
                    if op == .equal { plan.restrictSymbols([try symbolText(lit)]) } else { plan.excludedSymbols.insert(try symbolText(lit)) }
                } else if let s = b.slot, s == layout.timeSlot {
                    try timeBound(op, try time(lit))
                } else {
                    if b.type == .string { throw .badInput("\(e) is text: only the symbol column can be compared with text") }
                    plan.predicates.append(Predicate(expr: b, op: op, number: try number(lit, e)))
                }
            case .isIn(let e, let list):
                let b = try bindRow(e, layout)
                guard let s = b.slot, s == layout.symbolSlot else { throw .badInput("IN is supported on the symbol column only, not \(e)") }
                var names: [String] = []
                for l in list { names.append(try symbolText(l)) }
                plan.restrictSymbols(names)
            case .between(let e, let lo, let hi):
                let b = try bindRow(e, layout)
                if let s = b.slot, s == layout.timeSlot {
                    try timeBound(.greaterOrEqual, try time(lo))
                    try timeBound(.lessOrEqual, try time(hi))
                } else {
                    if b.type == .string { throw .badInput("BETWEEN is for the time and number columns, not \(e)") }
                    plan.predicates.append(Predicate(expr: b, op: .greaterOrEqual, number: try number(lo, e)))
                    plan.predicates.append(Predicate(expr: b, op: .lessOrEqual, number: try number(hi, e)))
                }
            }
        }
        if let join = plan.join {
            // Conditions on the joined table's columns are applied after the join.
            let right = Set(join.columns.map(\.slot) + [join.timeSlot])
            for p in plan.predicates {
                var used = Set<Int>()
                p.expr.slots(into: &used)
                if used.isDisjoint(with: right) { plan.leftPredicates.append(p) } else { plan.rightPredicates.append(p) }
            }
        } else {
            plan.leftPredicates = plan.predicates
        }
    }

    private func shape(_ q: Query, into plan: inout Plan) throws(StrataError) {
        let layout = plan.layout
        // Expand `*`.
        var items: [SelectItem] = []
        for item in q.items {
            if item.expr != nil { items.append(item); continue }
            for c in starColumns(plan) {
                items.append(SelectItem(expr: .column(c.name, qualifier: c.qualifier), alias: nil, text: c.display))
            }
        }
        if items.isEmpty { throw .badInput("the select list is empty") }
        let aggregating = q.sampleBy != nil || !q.groupBy.isEmpty || items.contains { $0.expr!.hasAggregate }
        if q.latestOn && aggregating { throw .badInput("LATEST ON cannot be combined with aggregates, SAMPLE BY or GROUP BY") }
        if q.latestOn && layout.symbolSlot == nil { throw .badInput("LATEST ON needs a symbol column to partition by") }
        if q.sampleBy != nil && layout.timeSlot == nil { throw .badInput("SAMPLE BY needs a time column") }
        if let s = q.sampleBy, s.seconds <= 0 { throw .badInput("SAMPLE BY needs a positive interval") }
        if let limit = q.limit, limit < 0 { throw .badInput("LIMIT must not be negative") }
        plan.limit = q.limit
        plan.latest = q.latestOn
        // ORDER BY items that are not output columns become hidden columns.
        var hidden: [SelectItem] = []
        var order: [(Int, Bool)] = []
        for o in q.orderBy {
            if case .int(let k) = o.expr {
                guard k >= 1 && k <= items.count else { throw .badInput("ORDER BY \(k): there are \(items.count) columns") }
                order.append((Int(k) - 1, o.descending))
            } else if case .column(let n, nil) = o.expr, let i = items.firstIndex(where: { $0.alias == n }) {
                order.append((i, o.descending))
            } else if let i = items.firstIndex(where: { $0.expr == o.expr }) {
                order.append((i, o.descending))
            } else if case .column(let n, nil) = o.expr, let i = items.firstIndex(where: { $0.name == n }) {
                order.append((i, o.descending))
            } else {
                order.append((items.count + hidden.count, o.descending))
                hidden.append(SelectItem(o.expr))
            }
        }
        plan.order = order
        plan.names = items.map(\.name)
        let all = items + hidden
        if aggregating {
            plan.aggregation = try aggregation(q, all, &plan)
            plan.types = plan.aggregation!.outputs.map(\.type)
        } else {
            plan.rowItems = []
            for item in all { plan.rowItems.append(try bindRow(item.expr!, layout)) }
            plan.types = plan.rowItems.map(\.type)
        }
        plan.visible = items.count
    }

    private func starColumns(_ plan: Plan) -> [(name: String, qualifier: String?, display: String)] {
        let layout = plan.layout
        var out: [(String, String?, String)] = []
        if let t = plan.table {
            for slot in t.schema.headerLayout {
                let name: String
                switch slot {
                case .symbol: name = t.schema.symbolColumn
                case .time: name = t.schema.timeColumn
                case .value(let i): name = t.schema.columns[i].name
                }
                out.append((name, layout.leftAlias, name))
            }
        } else {
            for c in layout.columns where c.qualifier == layout.leftAlias { out.append((c.name, c.qualifier, c.name)) }
        }
        if let j = plan.join, let a = layout.rightAlias {
            let leftNames = Set(out.map(\.0))
            out.append((j.table.schema.timeColumn, a, "\(a).\(j.table.schema.timeColumn)"))
            for c in j.table.schema.columns {
                out.append((c.name, a, leftNames.contains(c.name) ? "\(a).\(c.name)" : c.name))
            }
        }
        return out
    }

    private func aggregation(_ q: Query, _ items: [SelectItem], _ plan: inout Plan) throws(StrataError) -> AggregationPlan {
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
            let b = try bindRow(e, layout)
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
        // Aggregates, bound to rows; outputs, bound to aggregates and keys.
        var aggExprs: [Expr] = []
        func post(_ e: Expr) throws(StrataError) -> Bound {
            if let k = a.keyExprs.firstIndex(of: e) {
                return .key(k, try bindRow(e, layout).type)
            }
            switch e {
            case .aggregate(let f, let args):
                if args.count != (f == .count ? (args.isEmpty ? 0 : 1) : f.arity) {
                    throw .badInput("\(f.rawValue)() takes \(f == .count ? "* or one column" : f.arity == 1 ? "one argument" : "\(f.arity) arguments"), not \(args.count): \(e)")
                }
                if let i = aggExprs.firstIndex(of: e) { return .aggregate(i, a.aggregates[i].type) }
                var bound: [Bound] = []
                for arg in args {
                    if arg.hasAggregate { throw .badInput("aggregates cannot be nested: \(e)") }
                    let b = try bindRow(arg, layout)
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
