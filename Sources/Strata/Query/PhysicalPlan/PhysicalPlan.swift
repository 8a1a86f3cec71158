// The physical plan the planner (Planner/) builds and the operators (Execution/Operators/) run:
// the aggregation plan and the plan itself.

enum KeyKind {
    case symbol, bucket
    case extra(Int)
}

struct AggregationPlan {
    var keys: [KeyKind] = []
    var keyExprs: [Expr] = []
    var keyTypes: [ResultType] = []
    var extras: [ResolvedExpr] = []
    var bySymbol = false
    var aggregates: [AggregateSpec] = []
    var outputs: [ResolvedExpr] = []
    var bucketer: Bucketer?
    var fill: [SampleBy.Fill] = []
    var statsAnswerable = false
    var countsOnly = false
}

// MARK: - The plan

struct Plan {
    let snapshot: Snapshot
    var layout: SourceLayout
    var table: Catalog.TableState?
    var relation: Relation?
    var join: JoinSide?
    var symbolName: String?
    var timeName: String?
    /// The time range, both ends included; empty when lo > hi.
    var lo = Int64.min
    var hi = Int64.max
    var symbolFilter: Set<ByteString>?
    var excludedSymbols: Set<ByteString> = []
    var predicates: [Predicate] = []
    var leftPredicates: [Predicate] = []
    var rightPredicates: [Predicate] = []
    var names: [String] = []
    var types: [ResultType] = []
    var visible = 0
    var rowItems: [ResolvedExpr] = []
    var aggregation: AggregationPlan?
    var latest = false
    var order: [(Int, Bool)] = []
    var limit: Int?
    /// The table's value columns the query reads: (slot, schema index); set once planned.
    var valueColumns: [(slot: Int, column: Int)] = []
    var columnIndices: [Int] = []
    /// Per value column: true when only aggregates read it, so a decimal column may stay scaled integers.
    var scaledColumns: [Bool]?
    /// Window functions: the rows come from this stage's inner plan (the layout is its columns and
    /// the windows'); nil for plans without windows.
    var windowStage: WindowStage?

    mutating func restrictSymbols(_ list: [String]) {
        let set = Set(list.map(ByteString.init))
        symbolFilter = symbolFilter.map { $0.intersection(set) } ?? set
    }

    func keepsSymbol(_ s: String) -> Bool {
        let key = ByteString(s)
        return (symbolFilter?.contains(key) ?? true) && !excludedSymbols.contains(key)
    }

    /// Slots whose values the query reads.
    var usedSlots: SlotSet {
        var used = SlotSet()
        for p in predicates { p.expr.slots(into: &used) }
        for b in rowItems { b.slots(into: &used) }
        if let a = aggregation {
            for e in a.extras { e.slots(into: &used) }
            for g in a.aggregates { for b in g.args { b.slots(into: &used) } }
            if a.bucketer != nil || a.aggregates.contains(where: { $0.function == .first || $0.function == .last }) {
                if let t = layout.timeSlot { used.insert(t) }
            }
        }
        if let t = layout.timeSlot { used.insert(t) }
        if join != nil, let s = layout.symbolSlot { used.insert(s) }
        return used
    }

    /// Float64 slots read only as the plain argument of count, sum, avg, min, max, first or last.
    /// Aggregates read these as decimal integers when a block stores them so (no per-value division).
    /// LATEST ON keeps one row a symbol: the row items are read as integers too, and only the kept
    /// row is converted (by `Vec.value`, exactly as decoding would).
    var scaledSlots: SlotSet {
        if latest && aggregation == nil && join == nil {
            var read = SlotSet(), filtered = SlotSet()
            for b in rowItems { b.slots(into: &read) }
            for p in predicates { p.expr.slots(into: &filtered) }
            return read.subtracting(filtered)
        }
        guard let a = aggregation else { return SlotSet() }
        var direct = SlotSet()
        var other = SlotSet()
        for p in predicates { p.expr.slots(into: &other) }
        for b in rowItems { b.slots(into: &other) }
        for e in a.extras { e.slots(into: &other) }
        for g in a.aggregates {
            if g.function != .vwap, g.args.count == 1, let s = g.args[0].slot, g.args[0].type == .float64 {
                direct.insert(s)
            } else {
                for b in g.args { b.slots(into: &other) }
            }
        }
        if let j = join { for c in j.columns { other.insert(c.slot) } }
        return direct.subtracting(other)
    }

    /// The symbols of the table to read, in byte order: (id, name).
    func tableSymbols(_ t: Catalog.TableState) -> [(Int, String)] {
        var out: [(Int, String)] = []
        if let filter = symbolFilter {
            for s in filter where !excludedSymbols.contains(s) {
                if let id = t.symbolID(s.string) { out.append((Int(id), t.symbols[Int(id)].name)) }
            }
        } else {
            // By index: a symbol's state copied out (as `enumerated()` does) retains its block list.
            out.reserveCapacity(t.symbols.count)
            for id in t.symbols.indices where excludedSymbols.isEmpty || !excludedSymbols.contains(ByteString(t.symbols[id].name)) { out.append((id, t.symbols[id].name)) }
        }
        out.sort { utf8Less($0.1, $1.1) }
        return out
    }

    var timeRangeEmpty: Bool { lo > hi }
    var timeRangeAll: Bool { lo == .min && hi == .max }
}

/// A subquery as a source: its plan, run when the outer query reads it.
final class Relation {
    let plan: Plan
    init(plan: Plan) { self.plan = plan }
}
