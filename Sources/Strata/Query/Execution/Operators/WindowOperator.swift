// Running the window stage: the inner plan's rows, partition by partition (streamed when the
// inner rows come in window order, else collected and sorted), each window computed as a new
// column, then the select list over the rows and their windows.

extension Plan {
    func executeWindows(_ w: WindowStage, batchRows: Int, _ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
        var sink = WindowSink(plan: self, batchRows: batchRows)
        if w.streams, let t = w.inner.table {
            // A table's rows by symbol, each symbol a partition: as many symbols at a time as there
            // are cores, each computed on its own, handed on in symbol order.
            let symbols = w.inner.timeRangeEmpty ? [] : w.inner.tableSymbols(t)
            var start = 0
            while start < symbols.count && !sink.full {
                let round = Array(symbols[start..<min(symbols.count, start + System.processorCount)])
                start += round.count
                let parts = try parallel(round) { (share) throws(StrataError) -> [QueryResult] in
                    var out: [QueryResult] = []
                    for (id, name) in share { out.append(try windowPartition(w, t, id, name)) }
                    return out
                }
                for part in parts { for r in part { try sink.take(r, body) } }
            }
        } else {
            var all: QueryResult? = nil
            try w.inner.execute(batchRows: .max) { (chunk) throws(StrataError) in
                if all == nil { all = chunk } else { all!.append(chunk) }
            }
            let r = all!
            let batch = Batch(count: r.rowCount, symbol: nil, columns: r.columns.map { Vec($0) }, sorted: false)
            try sink.take(try windowRows(w, batch, sorted: false), body)
        }
        try sink.finish(body)
    }

    /// One symbol of a table as a partition: its rows gathered from the scan's batches, then windowed.
    private func windowPartition(_ w: WindowStage, _ t: Catalog.TableState, _ id: Int, _ name: String) throws(StrataError) -> QueryResult {
        var rows = PartitionRows(w.inner.types)
        _ = try w.inner.scanSymbol(t, id, name, ScanContext(), stats: { (_, _, _) throws(StrataError) in false }) { (b) throws(StrataError) in
            for (k, item) in w.inner.rowItems.enumerated() { rows.columns[k].append(try Evaluator.eval(item, b), b.count) }
            rows.count += b.count
            return true
        }
        return try windowRows(w, rows.take(), sorted: true)
    }

    /// The select list over rows of the inner plan with their windows, in window order.
    private func windowRows(_ w: WindowStage, _ rows: Batch, sorted: Bool) throws(StrataError) -> QueryResult {
        let n = rows.count
        var batch = rows
        let order = sorted ? Array(0..<n) : Self.windowOrder(rows, w)
        let parts = sorted ? (n == 0 ? [] : [0..<n]) : Self.partitions(rows, order, w.partition)
        for step in w.steps {
            batch.columns.append(try WindowKernel(step: step, batch: batch, order: order, orderKeys: w.order).compute(parts))
        }
        if !sorted { batch = batch.filtered(order) }
        var result = QueryResult(names: allNames, types: types)
        try appendRows(batch, to: &result)
        return result
    }

    /// Row numbers sorted by the partition keys, then the order keys (stable).
    private static func windowOrder(_ b: Batch, _ w: WindowStage) -> [Int] {
        var order = Array(0..<b.count)
        let keys = w.partition.map { ($0, false) } + w.order.map { ($0.slot, $0.descending) }
        if keys.isEmpty { return order }
        order.sort { x, y in
            for (c, desc) in keys {
                let p = b.columns[c]!.value(x), q = b.columns[c]!.value(y)
                if less(p, q) { return !desc }
                if less(q, p) { return desc }
            }
            return x < y
        }
        return order
    }

    /// Ranges of `order` whose rows share their partition keys.
    private static func partitions(_ b: Batch, _ order: [Int], _ partition: [Int]) -> [Range<Int>] {
        var parts: [Range<Int>] = []
        var start = 0
        for k in 1..<max(1, order.count + 1) where k == order.count || partition.contains(where: { b.columns[$0]!.value(order[k]) != b.columns[$0]!.value(order[k - 1]) }) {
            parts.append(start..<k)
            start = k
        }
        return order.isEmpty ? [] : parts
    }
}

/// One partition's rows of the inner plan, gathered batch by batch into columns.
private struct PartitionRows {
    var columns: [VecBuilder]
    var count = 0

    init(_ types: [ResultType]) { columns = types.map(VecBuilder.init) }

    /// The rows gathered so far as a batch; empties the builders.
    mutating func take() -> Batch {
        let b = Batch(count: count, symbol: nil, columns: columns.indices.map { columns[$0].take() }, sorted: true)
        count = 0
        return b
    }
}

/// A column built by appending vectors; a text column that holds one value throughout (a table's
/// symbol) stays one value.
struct VecBuilder {
    let type: ResultType
    private var ints: [Int64] = []
    private var floats: [Double] = []
    private var strings: [String] = []
    private var valid: [Bool] = []
    private var hasNull = false
    private var constant: String?
    private var count = 0

    init(_ type: ResultType) { self.type = type }

    mutating func append(_ v: Vec, _ n: Int) {
        if type == .string, v.valid == nil, case .string(let s) = v.values, count == 0 || constant.map({ sameBytes($0, s) }) == true {
            constant = s
            count += n
            return
        }
        if let c = constant {  // no longer one value: spell it out
            strings = [String](repeating: c, count: count)
            constant = nil
        }
        if let mask = v.valid {
            if !hasNull { valid = [Bool](repeating: true, count: count); hasNull = true }
            valid.append(contentsOf: mask)
        } else if hasNull {
            valid.append(contentsOf: repeatElement(true, count: n))
        }
        switch type {
        case .int64: ints.append(contentsOf: v.intValues(n))
        case .float64: floats.append(contentsOf: v.floatValues(n))
        case .string: for r in 0..<n { strings.append(v.isValid(r) ? v.text(r) : "") }
        }
        count += n
    }

    mutating func take() -> Vec {
        defer {
            ints.removeAll(keepingCapacity: true)
            floats.removeAll(keepingCapacity: true)
            strings.removeAll(keepingCapacity: true)
            valid.removeAll(keepingCapacity: true)
            hasNull = false
            constant = nil
            count = 0
        }
        let mask: ArraySlice<Bool>? = hasNull ? valid[...] : nil
        if let c = constant { return Vec(.string(c)) }
        switch type {
        case .int64: return Vec(.ints(ints[...]), valid: mask)
        case .float64: return Vec(.floats(floats[...]), valid: mask)
        case .string: return Vec(.strings(strings[...]), valid: mask)
        }
    }
}

/// Where a window stage's rows go: to the caller in batches as they come (no ORDER BY), or
/// collected, sorted and cut to LIMIT at the end.
private struct WindowSink {
    let plan: Plan
    let batchRows: Int
    var held: QueryResult
    var emitted = 0
    var sent = false

    init(plan: Plan, batchRows: Int) {
        self.plan = plan
        self.batchRows = batchRows
        self.held = QueryResult(names: plan.allNames, types: plan.types)
    }

    /// Enough rows for LIMIT without ORDER BY: the rest need not be read.
    var full: Bool { plan.order.isEmpty && plan.limit.map { emitted + held.rowCount >= $0 } == true }

    mutating func take(_ rows: QueryResult, _ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
        held.append(rows)
        guard plan.order.isEmpty else { return }
        let limit = plan.limit ?? .max
        if emitted + held.rowCount > limit {
            let keep = Array(0..<(limit - emitted))
            held = QueryResult(names: held.names, columns: held.columns.map { $0.gather(keep) })
        }
        while held.rowCount >= batchRows {
            try send(Array(0..<batchRows), body)
            let rest = Array(batchRows..<held.rowCount)
            held = QueryResult(names: held.names, columns: held.columns.map { $0.gather(rest) })
        }
    }

    private mutating func send(_ rows: [Int], _ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
        try body(QueryResult(names: plan.names, columns: held.columns.prefix(plan.visible).map { $0.gather(rows) }))
        emitted += rows.count
        sent = true
    }

    mutating func finish(_ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
        if !plan.order.isEmpty { held = plan.sortAndLimit(held) }
        var start = 0
        while start < held.rowCount {
            let end = min(start + batchRows, held.rowCount)
            try send(Array(start..<end), body)
            start = end
        }
        if !sent { try body(QueryResult(names: plan.names, columns: Array(held.columns.prefix(plan.visible)))) }
    }
}
