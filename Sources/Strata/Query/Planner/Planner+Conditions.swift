// Planning WHERE: symbol conditions pick symbols, time conditions bound the block range, value
// conditions become predicates (with block-statistics verdicts).

extension Planner {
    func conditions(_ conditions: [Condition], into plan: inout Plan) throws(StrataError) {
        let layout = plan.layout
        for c in conditions {
            switch c {
            case .symbols(let list):
                guard layout.symbolSlot != nil else { throw .badInput("the source has no symbol column") }
                plan.restrictSymbols(list)
            case .time(let op, let v):
                guard layout.timeSlot != nil else { throw .badInput("the source has no time column") }
                try Self.boundTime(op, try v.resolve(layout.timeUnit ?? .milliseconds), &plan)
            case .compare(let e, let op, let lit):
                try compare(e, op, lit, &plan)
            case .isIn(let e, let list):
                let b = try resolveRow(e, layout)
                guard b.type == .string else { throw .badInput("IN is for text columns and the symbol column, not \(e)") }
                var names: [String] = []
                for l in list { names.append(try Self.text(l, e)) }
                if b.slot == layout.symbolSlot { plan.restrictSymbols(names) } else { plan.predicates.append(Predicate(expr: b, test: .text(names, equal: true))) }
            case .isNull(let e, let negated):
                let b = try resolveRow(e, layout)
                if b.slot != nil && (b.slot == layout.symbolSlot || b.slot == layout.timeSlot) {
                    if negated { continue }  // the symbol and time are never null
                    plan.hi = .min
                    plan.lo = .max
                    continue
                }
                plan.predicates.append(Predicate(expr: b, test: .null(!negated)))
            case .between(let e, let lo, let hi):
                try between(e, lo, hi, &plan)
            }
        }
        Self.splitPredicatesAroundJoin(&plan)
    }

    /// `e op literal`: on the symbol column a symbol choice, on the time column a bound, else a predicate.
    private func compare(_ e: Expr, _ op: Comparison, _ lit: Literal, _ plan: inout Plan) throws(StrataError) {
        let layout = plan.layout
        let b = try resolveRow(e, layout)
        if let s = b.slot, s == layout.symbolSlot {
            guard op == .equal || op == .notEqual else { throw .badInput("symbols can be compared with = or IN only") }
            if op == .equal { plan.restrictSymbols([try Self.symbolText(lit)]) } else { plan.excludedSymbols.insert(ByteString(try Self.symbolText(lit))) }
        } else if let s = b.slot, s == layout.timeSlot {
            try Self.boundTime(op, try Self.time(lit, layout.timeUnit ?? .milliseconds), &plan)
        } else if b.type == .string {
            guard op == .equal || op == .notEqual else { throw .badInput("\(e) is text: compare it with = or != (or IN), not \(op.rawValue)") }
            plan.predicates.append(Predicate(expr: b, test: .text([try Self.text(lit, e)], equal: op == .equal)))
        } else {
            plan.predicates.append(Predicate(expr: b, test: .number(op, try Self.number(lit, e))))
        }
    }

    private func between(_ e: Expr, _ lo: Literal, _ hi: Literal, _ plan: inout Plan) throws(StrataError) {
        let layout = plan.layout
        let b = try resolveRow(e, layout)
        if let s = b.slot, s == layout.timeSlot {
            let unit = layout.timeUnit ?? .milliseconds
            try Self.boundTime(.greaterOrEqual, try Self.time(lo, unit), &plan)
            try Self.boundTime(.lessOrEqual, try Self.time(hi, unit), &plan)
        } else {
            if b.type == .string { throw .badInput("BETWEEN is for the time and number columns, not \(e)") }
            plan.predicates.append(Predicate(expr: b, test: .number(.greaterOrEqual, try Self.number(lo, e))))
            plan.predicates.append(Predicate(expr: b, test: .number(.lessOrEqual, try Self.number(hi, e))))
        }
    }

    /// Narrows the plan's time bounds [lo, hi] by `time op v` (`!=` becomes a predicate).
    private static func boundTime(_ op: Comparison, _ v: Int64, _ plan: inout Plan) throws(StrataError) {
        switch op {
        case .equal: plan.lo = max(plan.lo, v); plan.hi = min(plan.hi, v)
        case .less: if v == .min { plan.hi = .min; plan.lo = .max } else { plan.hi = min(plan.hi, v - 1) }
        case .lessOrEqual: plan.hi = min(plan.hi, v)
        case .greater: if v == .max { plan.hi = .min; plan.lo = .max } else { plan.lo = max(plan.lo, v + 1) }
        case .greaterOrEqual: plan.lo = max(plan.lo, v)
        case .notEqual:
            plan.predicates.append(Predicate(expr: .slot(plan.layout.timeSlot!, .int64), test: .number(.notEqual, .int(v))))
        }
    }

    private static func time(_ l: Literal, _ unit: TimeUnit) throws(StrataError) -> Int64 {
        switch l {
        case .int(let v): return v
        case .string(let s): return try TimeValue.text(s).resolve(unit)
        case .float(let d):
            guard let v = Int64(exactly: d) else { throw .badInput("time \(d) is not an integer in the table's unit") }
            return v
        }
    }

    private static func symbolText(_ l: Literal) throws(StrataError) -> String {
        guard case .string(let s) = l else { throw .badInput("a symbol is text: write it in quotes, as '\(l)'") }
        return s
    }

    private static func text(_ l: Literal, _ e: Expr) throws(StrataError) -> String {
        guard case .string(let s) = l else { throw .badInput("\(e) is text: write the value in quotes, as '\(l)'") }
        return s
    }

    private static func number(_ l: Literal, _ e: Expr) throws(StrataError) -> ResultValue {
        switch l {
        case .int(let v): return .int(v)
        case .float(let d): return .float(d)
        case .string(let s): throw .badInput("\(e) is a number column; compare it with a number, not '\(s)'")
        }
    }

    /// Conditions on the joined table's columns are applied after the join, the others before it.
    private static func splitPredicatesAroundJoin(_ plan: inout Plan) {
        guard let join = plan.join else {
            plan.leftPredicates = plan.predicates
            return
        }
        let right = SlotSet(join.columns.map(\.slot) + [join.timeSlot])
        for p in plan.predicates {
            var used = SlotSet()
            p.expr.slots(into: &used)
            if used.isDisjoint(with: right) { plan.leftPredicates.append(p) } else { plan.rightPredicates.append(p) }
        }
    }
}
