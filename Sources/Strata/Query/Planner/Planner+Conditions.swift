// Planning WHERE: symbol conditions pick symbols, time conditions bound the block range, value
// conditions become predicates (with block-statistics verdicts).

extension Planner {
    func conditions(_ conditions: [Condition], into plan: inout Plan) throws(StrataError) {
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
                let b = try resolveRow(e, layout)
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
                let b = try resolveRow(e, layout)
                guard let s = b.slot, s == layout.symbolSlot else { throw .badInput("IN is supported on the symbol column only, not \(e)") }
                var names: [String] = []
                for l in list { names.append(try symbolText(l)) }
                plan.restrictSymbols(names)
            case .between(let e, let lo, let hi):
                let b = try resolveRow(e, layout)
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
}
