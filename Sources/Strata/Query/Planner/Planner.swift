import Dispatch


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
        let matches = columns.filter { sameBytes($0.name, name) && (qualifier == nil || $0.qualifier.map { sameBytes($0, qualifier!) } == true) }
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
    /// Whether the query reads the right table's time column.
    var readsTime = true
}

// MARK: - Planning

struct Planner {
    let snapshot: Snapshot

    func plan(_ q: Query) throws(StrataError) -> Plan {
        if q.items.contains(where: { $0.expr?.hasWindow == true }) || q.orderBy.contains(where: { $0.expr.hasWindow }) {
            return try planWithWindows(q)
        }
        if q.latestOn && (q.sampleBy != nil || !q.groupBy.isEmpty || q.items.contains(where: { $0.expr?.hasAggregate == true })) {
            return try plan(Self.latestRowsFirst(q))
        }
        var layout = SourceLayout()
        var table: Catalog.TableState? = nil
        var relation: Relation? = nil
        switch q.source {
        case .table(let name, let alias):
            table = try tableSource(name, alias: alias, &layout)
        case .subquery(let inner, let alias):
            relation = try subquerySource(inner, alias: alias, &layout)
        }
        let join = try q.asofJoin.map { (j) throws(StrataError) in try joinSide(j, key: q.joinKey, &layout) }
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
        let used = plan.usedSlots
        plan.valueColumns = used.sorted.filter { valueSlots.contains($0) }.map { ($0, $0 - 2) }
        if var j = plan.join {
            // The joined table's columns the query does not read are neither decoded nor gathered
            // (a sum over one of fund_shares' three columns gathered all three and its times).
            j.columns = j.columns.filter { used.contains($0.slot) }
            j.readsTime = used.contains(j.timeSlot)
            plan.join = j
        }
        plan.columnIndices = plan.valueColumns.map(\.column)
        let scaled = plan.scaledSlots
        plan.scaledColumns = scaled.isEmpty ? nil : plan.valueColumns.map { scaled.contains($0.slot) }
        return plan
    }

    /// LATEST ON with aggregates: the latest rows first (a subquery), then the aggregates over them.
    private static func latestRowsFirst(_ q: Query) -> Query {
        var inner = Query([.star], from: q.source, asofJoin: q.asofJoin, where: q.conditions, latestOn: true)
        inner.joinKey = q.joinKey
        inner.latestOnColumn = q.latestOnColumn
        inner.partitionColumn = q.partitionColumn
        var outer = q
        outer.source = .subquery(inner, alias: q.source.alias)
        outer.asofJoin = nil
        outer.joinKey = nil
        outer.conditions = []
        outer.latestOn = false
        return outer
    }

    /// A table as the source: slots for its symbol, time and value columns.
    private func tableSource(_ name: String, alias: String?, _ layout: inout SourceLayout) throws(StrataError) -> Catalog.TableState {
        let t = try snapshot.tableState(name)
        let a = alias ?? name
        layout.leftAlias = a
        layout.timeUnit = t.schema.timeUnit
        layout.symbolSlot = layout.add(a, t.schema.symbolColumn, .string)
        layout.timeSlot = layout.add(a, t.schema.timeColumn, .int64)
        for c in t.schema.columns { _ = layout.add(a, c.name, ResultType(c.type)) }
        return t
    }

    /// A subquery as the source: planned here, run when the outer query reads its rows (batch by batch).
    private func subquerySource(_ inner: Query, alias: String?, _ layout: inout SourceLayout) throws(StrataError) -> Relation {
        let innerPlan = try Planner(snapshot: snapshot).plan(inner)
        layout.leftAlias = alias
        layout.timeUnit = innerPlan.layout.timeUnit
        for (name, type) in zip(innerPlan.names, innerPlan.types.prefix(innerPlan.visible)) {
            let slot = layout.add(alias, name, type)
            if innerPlan.symbolName.map({ sameBytes($0, name) }) == true && type == .string { layout.symbolSlot = slot }
            if innerPlan.timeName.map({ sameBytes($0, name) }) == true && type == .int64 { layout.timeSlot = slot }
        }
        return Relation(plan: innerPlan)
    }

    /// The right side of an ASOF JOIN: its time and value columns take the next slots; its symbol
    /// column shares the left one's slot.
    private func joinSide(_ j: Query.Join, key: String?, _ layout: inout SourceLayout) throws(StrataError) -> JoinSide {
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
        for (i, c) in t.schema.columns.enumerated() { cols.append((layout.add(a, c.name, ResultType(c.type)), i)) }
        if let key {
            let left = layout.columns.first { $0.slot == layout.symbolSlot! }!.name
            if key != left || key != t.schema.symbolColumn {
                throw .badInput("ASOF JOIN ... ON (\(key)): joins match on the symbol column (\(left) and \(t.schema.symbolColumn)); other keys are not supported")
            }
        }
        return JoinSide(table: t, timeSlot: ts, columns: cols)
    }

    func resolveRow(_ e: Expr, _ layout: SourceLayout) throws(StrataError) -> ResolvedExpr {
        switch e {
        case .column(let name, let q):
            let (slot, type) = try layout.resolve(name, q)
            return .slot(slot, type)
        case .aggregate(let f, _):
            throw .badInput("aggregate \(f.rawValue)() is not allowed here: \(e)")
        case .window(let w):
            throw .badInput("window function \(w.function.name)() is not allowed here: \(e)")
        case .session(let name):
            guard let t = layout.timeSlot else { throw .badInput("SESSION '\(name)' needs a time column") }
            let calendar = try TradingCalendar.load(name, databaseDirectory: snapshot.directory)
            return .session(calendar, .slot(t, .int64), layout.timeUnit ?? .milliseconds)
        default:
            return try combine(e) { (child) throws(StrataError) in try resolveRow(child, layout) }
        }
    }

    /// Resolves the operators, functions and literals of `e`, with its operands resolved by `operand`
    /// (against rows, or against groups' aggregates and keys).
    func combine(_ e: Expr, _ operand: (Expr) throws(StrataError) -> ResolvedExpr) throws(StrataError) -> ResolvedExpr {
        switch e {
        case .int(let v): return .int(v)
        case .float(let v): return .float(v)
        case .null: return .null(.float64)
        case .text(let t): return .text(t)
        case .negate(let a):
            let b = try operand(a)
            if b.type == .string { throw .badInput("cannot negate text in \(e)") }
            return .negate(b, b.type)
        case .arithmetic(let op, let l, let r):
            let a = try operand(l), b = try operand(r)
            return .arithmetic(op, a, b, try Arithmetic.resultType(op, a.type, b.type, e.description))
        case .function(let f, let args):
            return try function(f, args.map { (a) throws(StrataError) in try operand(a) }, e)
        case .caseWhen(let whens, let otherwise):
            var branches: [(ResolvedCondition, ResolvedExpr)] = []
            for w in whens { branches.append((try condition(w.condition, operand), try operand(w.value))) }
            let other = try otherwise.map { (x) throws(StrataError) in try operand(x) }
            let t = try Self.commonType(branches.map(\.1) + (other.map { [$0] } ?? []), e)
            return .caseWhen(branches.map { ($0.0, Self.typed($0.1, t)) }, other.map { Self.typed($0, t) }, t)
        case .column, .aggregate, .window, .session:
            return try operand(e)
        }
    }

    private func function(_ f: ScalarFunction, _ args: [ResolvedExpr], _ e: Expr) throws(StrataError) -> ResolvedExpr {
        if f == .coalesce {
            let t = try Self.commonType(args, e)
            return .function(f, args.map { Self.typed($0, t) }, t)
        }
        if args[0].type == .string { throw .badInput("\(f.rawValue)() needs a number, and \(e) is given text") }
        if f == .round && args.count == 2 {
            switch args[1] {
            case .int, .float: break
            default: throw .badInput("round(x, n) takes a constant number of places: \(e)")
            }
        }
        let keepsInt = [.abs, .floor, .ceil, .round].contains(f) && args[0].type == .int64
        return .function(f, args, keepsInt ? .int64 : .float64)
    }

    private func condition(_ c: BoolExpr, _ operand: (Expr) throws(StrataError) -> ResolvedExpr) throws(StrataError) -> ResolvedCondition {
        switch c {
        case .compare(let l, let op, let r):
            var a = try operand(l), b = try operand(r)
            if case .null = a { a = .null(b.type) }
            if case .null = b { b = .null(a.type) }
            if (a.type == .string) != (b.type == .string) { throw .badInput("cannot compare text with a number in \(c)") }
            return .compare(a, op, b)
        case .isNull(let a, let negated): return .isNull(try operand(a), negated: negated)
        case .and(let a, let b): return .and(try condition(a, operand), try condition(b, operand))
        case .or(let a, let b): return .or(try condition(a, operand), try condition(b, operand))
        case .not(let a): return .not(try condition(a, operand))
        }
    }

    /// The type of values from several branches: text, or numbers (Int64 when all are); nulls take it.
    static func commonType(_ values: [ResolvedExpr], _ e: Expr) throws(StrataError) -> ResultType {
        let typed = values.filter { if case .null = $0 { false } else { true } }.map(\.type)
        if typed.isEmpty { return .float64 }
        if typed.contains(.string) {
            if typed.contains(where: { $0 != .string }) { throw .badInput("\(e) mixes text and numbers") }
            return .string
        }
        return typed.allSatisfy { $0 == .int64 } ? .int64 : .float64
    }

    static func typed(_ v: ResolvedExpr, _ t: ResultType) -> ResolvedExpr {
        if case .null = v { return .null(t) }
        return v
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
        if q.latestOn && layout.symbolSlot == nil { throw .badInput("LATEST ON needs a symbol column to partition by") }
        if q.sampleBy != nil && layout.timeSlot == nil { throw .badInput("SAMPLE BY needs a time column") }
        if let s = q.sampleBy, s.seconds <= 0 { throw .badInput("SAMPLE BY needs a positive interval") }
        if let limit = q.limit, limit < 0 { throw .badInput("LIMIT must not be negative") }
        plan.limit = q.limit
        plan.latest = q.latestOn
        let (order, hidden) = try Self.orderKeys(q.orderBy, items)
        plan.order = order
        plan.names = items.map(\.name)
        let all = items + hidden
        if aggregating {
            plan.aggregation = try aggregation(q, all, &plan)
            plan.types = plan.aggregation!.outputs.map(\.type)
        } else {
            plan.rowItems = []
            for item in all { plan.rowItems.append(try resolveRow(item.expr!, layout)) }
            plan.types = plan.rowItems.map(\.type)
        }
        plan.visible = items.count
    }

    /// The select list of a window stage: row expressions over its layout, ORDER BY and LIMIT.
    func shapeRows(_ q: Query, _ items: [SelectItem], into plan: inout Plan) throws(StrataError) {
        if let limit = q.limit, limit < 0 { throw .badInput("LIMIT must not be negative") }
        plan.limit = q.limit
        let (order, hidden) = try Self.orderKeys(q.orderBy, items)
        plan.order = order
        plan.names = items.map(\.name)
        plan.rowItems = []
        for item in items + hidden { plan.rowItems.append(try resolveRow(item.expr!, plan.layout)) }
        plan.types = plan.rowItems.map(\.type)
        plan.visible = items.count
    }

    /// ORDER BY keys as columns of the result: a position, an alias, an item's expression or name;
    /// other expressions become hidden columns after the items.
    private static func orderKeys(_ orderBy: [OrderItem], _ items: [SelectItem]) throws(StrataError) -> ([(Int, Bool)], [SelectItem]) {
        var hidden: [SelectItem] = []
        var order: [(Int, Bool)] = []
        for o in orderBy {
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
        return (order, hidden)
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

}
