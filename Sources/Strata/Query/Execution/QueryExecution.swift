// Running a plan: the entry points on Snapshot, streaming rows, ORDER BY and LIMIT, and the
// parallel split of symbols over the cores. The operators are in Operators/.
import Dispatch

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
    /// possibly with no rows), always on the calling thread. Row queries without ORDER BY stream:
    /// memory stays bounded whatever the table size. Aggregates whose groups start with the symbol
    /// (GROUP BY the symbol, SAMPLE BY without FILL) and have no ORDER BY or LIMIT hand over each
    /// share of the symbols' groups as soon as it and the shares before it are done, while the other
    /// cores go on; other aggregates, LATEST ON and ORDER BY collect their rows first.
    public func query(_ q: Query, batchRows: Int = 65_536, _ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
        let plan = try Planner(snapshot: self).plan(q)
        if q.explain {
            try body(try plan.explain())
            return
        }
        try plan.execute(batchRows: max(1, batchRows), body)
    }
}

extension Plan {
    /// The result columns, with the hidden ORDER BY keys after the visible ones.
    var allNames: [String] { names + (visible..<types.count).map { "_order\($0)" } }

    func execute(batchRows: Int, _ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
        if let w = windowStage {
            try executeWindows(w, batchRows: batchRows, body)
            return
        }
        var result: QueryResult
        if let a = aggregation {
            if order.isEmpty && limit == nil {
                // Parts are handed out in batches as they are finished, while later ones are made.
                var batches = Batcher(plan: self, batchRows: batchRows)
                try executeAggregation(a) { (part) throws(StrataError) in try batches.add(part, body) }
                try batches.finish(body)
                return
            }
            var parts: [QueryResult] = []
            try executeAggregation(a) { (part) throws(StrataError) in parts.append(part) }
            result = parts.count == 1 ? parts[0] : QueryResult(names: allNames, types: types, concatenating: parts)
        } else if latest {
            result = try executeLatestOn()
        } else if order.isEmpty {
            try streamRows(batchRows, body)
            return
        } else {
            result = QueryResult(names: allNames, types: types)
            try scanAll { (b) throws(StrataError) in
                try appendRows(b, to: &result)
                return true
            }
        }
        result = sortAndLimit(result)
        var out = QueryResult(names: names, columns: Array(result.columns.prefix(visible)))
        if out.rowCount <= batchRows {
            try body(out)
            return
        }
        var start = 0
        while start < out.rowCount {
            let end = min(start + batchRows, out.rowCount)
            let rows = Array(start..<end)
            try body(QueryResult(names: names, columns: out.columns.map { $0.gather(rows) }))
            start = end
        }
        out.columns.removeAll()
    }

    /// Hands the parts of a result, in order, to a body in batches of exactly `batchRows` rows (the
    /// last may have fewer; one empty batch when there are none): a part that is a whole batch goes
    /// as it is, the others are cut and joined, so each row is copied at most once (joining the
    /// parts first copied every row of a daily resampling of all symbols twice: 16 MB of fresh
    /// pages in a new process).
    struct Batcher {
        let plan: Plan
        let batchRows: Int
        private var pending: [QueryResult] = []
        private var rows = 0
        private var sent = false

        init(plan: Plan, batchRows: Int) { (self.plan, self.batchRows) = (plan, batchRows) }

        mutating func add(_ part: QueryResult, _ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
            var start = 0
            while start < part.rowCount {
                let take = min(batchRows - rows, part.rowCount - start)
                let cut = take == part.rowCount ? nil : Array(start..<start + take)
                pending.append(cut.map { cut in QueryResult(names: part.names, columns: part.columns.map { $0.gather(cut) }) } ?? part)
                rows += take
                start += take
                if rows == batchRows { try send(body) }
            }
        }

        mutating func finish(_ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
            if rows > 0 || !sent { try send(body) }
        }

        private mutating func send(_ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
            let batch = pending.count == 1 ? pending[0] : QueryResult(names: plan.allNames, types: plan.types, concatenating: pending)
            try body(QueryResult(names: plan.names, columns: Array(batch.columns.prefix(plan.visible))))
            pending.removeAll()
            rows = 0
            sent = true
        }
    }

    func streamRows(_ batchRows: Int, _ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
        var buffer = QueryResult(names: allNames, types: types)
        var emitted = 0
        var sent = false
        let limit = self.limit ?? .max
        try scanAll { (b) throws(StrataError) in
            var batch = b
            if emitted + batch.count > limit { batch = batch.filtered(Array(0..<(limit - emitted))) }
            try appendRows(batch, to: &buffer)
            emitted += batch.count
            // Batches of exactly `batchRows` rows (the last one may be smaller).
            while buffer.rowCount >= batchRows {
                let rows = Array(0..<batchRows)
                try body(QueryResult(names: names, columns: buffer.columns.prefix(visible).map { $0.gather(rows) }))
                sent = true
                let rest = Array(batchRows..<buffer.rowCount)
                buffer.columns = buffer.columns.map { $0.gather(rest) }
            }
            return emitted < limit
        }
        if buffer.rowCount > 0 || !sent { try body(QueryResult(names: names, columns: Array(buffer.columns.prefix(visible)))) }
    }

    func appendRows(_ b: Batch, to result: inout QueryResult) throws(StrataError) {
        if b.count == 0 { return }
        for (i, item) in rowItems.enumerated() {
            let v = try Evaluator.eval(item, b)
            Self.append(v, count: b.count, to: &result.columns[i])
        }
    }

    static func append(_ v: Vec, count n: Int, to column: inout ResultColumn) {
        switch column {
        case .int64(var a):
            column = .int64([])
            let p = v.intValues(n)
            if let valid = v.valid {
                for r in 0..<n { a.append(valid[valid.startIndex + r] ? p[p.startIndex + r] : nil) }
            } else {
                a.append(contentsOf: p.lazy.map { Optional($0) })
            }
            column = .int64(a)
        case .float64(var a):
            column = .float64([])
            let p = v.floatValues(n)
            if let valid = v.valid {
                for r in 0..<n { a.append(valid[valid.startIndex + r] ? p[p.startIndex + r] : nil) }
            } else {
                a.append(contentsOf: p.lazy.map { Optional($0) })
            }
            column = .float64(a)
        case .string(var a):
            column = .string([])
            for r in 0..<n {
                if case .string(let s) = v.value(r) { a.append(s) } else { a.append(nil) }
            }
            column = .string(a)
        }
    }

    func sortAndLimit(_ r: QueryResult) -> QueryResult {
        var rows = Array(0..<r.rowCount)
        func before(_ a: Int, _ b: Int) -> Bool {
            for (c, desc) in order {
                let x = r.columns[c][a], y = r.columns[c][b]
                if Self.less(x, y) { return !desc }
                if Self.less(y, x) { return desc }
            }
            return a < b
        }
        // Rows often come in the order asked for (one symbol's rows by time): checked in one pass.
        let inOrder = order.isEmpty || !(1..<max(1, r.rowCount)).contains { before($0, $0 - 1) }
        if !inOrder { rows.sort(by: before) }
        if let limit, limit < rows.count { rows.removeLast(rows.count - limit) }
        if inOrder && rows.count == r.rowCount { return r }
        return QueryResult(names: r.names, columns: r.columns.map { $0.gather(rows) })
    }

    /// Order of result values: numbers (NaN after every number), then text by UTF-8 bytes, then null.
    static func less(_ x: ResultValue, _ y: ResultValue) -> Bool {
        switch (x, y) {
        case (.null, _): return false
        case (_, .null): return true
        case (.string(let a), .string(let b)): return utf8Less(a, b)
        case (.string, _): return false
        case (_, .string): return true
        case (.int(let a), .int(let b)): return a < b
        default:
            let a = x.double!, b = y.double!
            if a.isNaN { return false }
            if b.isNaN { return true }
            return ColumnStats.totalLess(a, b)
        }
    }

    /// Runs `work` over contiguous shares of the symbols on every core; results in symbol order.
    func parallel<T>(_ symbols: [(Int, String)], _ work: ([(Int, String)]) throws(StrataError) -> T) throws(StrataError) -> [T] {
        var out: [T] = []
        try parallel(symbols, work) { (r) throws(StrataError) in out.append(r) }
        return out
    }

    /// `parallel`, handing each share's result to `deliver` on the calling thread, in symbol order,
    /// as soon as it and the shares before it are done (`parallelInOrder`).
    func parallel<T>(
        _ symbols: [(Int, String)], _ work: ([(Int, String)]) throws(StrataError) -> T, deliver: (T) throws(StrataError) -> Void
    ) throws(StrataError) {
        let cores = System.processorCount
        let shares = symbols.count < 2 || cores == 1 ? 1 : min(symbols.count, cores * 4)
        try parallelInOrder(shares, { (c) throws(StrataError) -> T in
            let lo = symbols.count * c / shares, hi = symbols.count * (c + 1) / shares
            return try work(Array(symbols[lo..<hi]))
        }, deliver: deliver)
    }
}
