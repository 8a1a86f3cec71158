// Running the window stage: the inner plan's rows, partition by partition (streamed when the
// inner rows come in window order, else collected and sorted), each window computed as a new
// column, then the select list over the rows and their windows.

extension Plan {
    func executeWindows(_ w: WindowStage, batchRows: Int, _ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
        var sink = WindowSink(plan: self, batchRows: batchRows)
        if w.streams {
            // Rows by symbol: every partition but the last one seen is complete.
            var pending = QueryResult(names: w.inner.allNames, types: w.inner.types)
            try w.inner.execute(batchRows: 65_536) { (chunk) throws(StrataError) in
                pending.append(chunk)
                let cut = Self.lastPartitionStart(pending, w.partition)
                if cut > 0 {
                    let done = Array(0..<cut), rest = Array(cut..<pending.rowCount)
                    try sink.take(try windowRows(w, QueryResult(names: pending.names, columns: pending.columns.map { $0.gather(done) }), sorted: true), body)
                    pending = QueryResult(names: pending.names, columns: pending.columns.map { $0.gather(rest) })
                }
            }
            if pending.rowCount > 0 { try sink.take(try windowRows(w, pending, sorted: true), body) }
        } else {
            var all: QueryResult? = nil
            try w.inner.execute(batchRows: .max) { (chunk) throws(StrataError) in
                if all == nil { all = chunk } else { all!.append(chunk) }
            }
            try sink.take(try windowRows(w, all!, sorted: false), body)
        }
        try sink.finish(body)
    }

    /// The first row of the last partition in `r` (rows in partition order).
    private static func lastPartitionStart(_ r: QueryResult, _ partition: [Int]) -> Int {
        var k = r.rowCount - 1
        if k < 0 { return 0 }
        let last = partition.map { r.columns[$0][k] }
        while k > 0, partition.indices.allSatisfy({ r.columns[partition[$0]][k - 1] == last[$0] }) { k -= 1 }
        return k
    }

    /// The select list over rows of the inner plan with their windows, in window order.
    private func windowRows(_ w: WindowStage, _ rows: QueryResult, sorted: Bool) throws(StrataError) -> QueryResult {
        let n = rows.rowCount
        var batch = Batch(count: n, symbol: nil, columns: rows.columns.map { Vec($0) }, sorted: false)
        let order = sorted ? Array(0..<n) : Self.windowOrder(rows, w)
        let parts = Self.partitions(rows, order, w.partition)
        for step in w.steps {
            batch.columns.append(try WindowKernel(step: step, batch: batch, order: order, orderKeys: w.order).compute(parts))
        }
        if !sorted { batch = batch.filtered(order) }
        var result = QueryResult(names: allNames, types: types)
        try appendRows(batch, to: &result)
        return result
    }

    /// Row numbers sorted by the partition keys, then the order keys (stable).
    private static func windowOrder(_ r: QueryResult, _ w: WindowStage) -> [Int] {
        var order = Array(0..<r.rowCount)
        let keys = w.partition.map { ($0, false) } + w.order.map { ($0.slot, $0.descending) }
        if keys.isEmpty { return order }
        order.sort { a, b in
            for (c, desc) in keys {
                let x = r.columns[c][a], y = r.columns[c][b]
                if less(x, y) { return !desc }
                if less(y, x) { return desc }
            }
            return a < b
        }
        return order
    }

    /// Ranges of `order` whose rows share their partition keys.
    private static func partitions(_ r: QueryResult, _ order: [Int], _ partition: [Int]) -> [Range<Int>] {
        var parts: [Range<Int>] = []
        var start = 0
        for k in 1..<max(1, order.count + 1) where k == order.count || partition.contains(where: { r.columns[$0][order[k]] != r.columns[$0][order[k - 1]] }) {
            parts.append(start..<k)
            start = k
        }
        return order.isEmpty ? [] : parts
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
