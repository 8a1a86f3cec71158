import Dispatch


/// Per-worker scratch: the decoded block and the joined table's rows of the current symbol.
final class ScanContext {
    let decoded = DecodedBlock()
    var rightSymbol: String?
    var rightTimes: [Int64] = []
    var rightColumns: [Vec] = []

    /// The joined row with the largest time not after `t`, or -1.
    func rightRow(atOrBefore t: Int64) -> Int {
        var l = 0, h = rightTimes.count
        while l < h {
            let m = (l + h) / 2
            if rightTimes[m] <= t { l = m + 1 } else { h = m }
        }
        return l - 1
    }
}

final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

extension Plan {
    func run(batchRows: Int, _ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
        var result: QueryResult
        if let a = aggregation {
            result = try runAggregation(a)
        } else if latest {
            result = try runLatest()
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

    var allNames: [String] { names + (visible..<types.count).map { "_order\($0)" } }

    // MARK: Row queries

    private func streamRows(_ batchRows: Int, _ body: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
        var buffer = QueryResult(names: allNames, types: types)
        var emitted = 0
        var sent = false
        let limit = self.limit ?? .max
        try scanAll { (b) throws(StrataError) in
            var batch = b
            if emitted + batch.count > limit { batch = batch.filtered(Array(0..<(limit - emitted))) }
            try appendRows(batch, to: &buffer)
            emitted += batch.count
            if buffer.rowCount >= batchRows {
                try body(QueryResult(names: names, columns: Array(buffer.columns.prefix(visible))))
                sent = true
                for c in buffer.columns.indices { buffer.columns[c].removeAll() }
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

    // MARK: Sorting

    private func sortAndLimit(_ r: QueryResult) -> QueryResult {
        var rows = Array(0..<r.rowCount)
        if !order.isEmpty {
            rows.sort { a, b in
                for (c, desc) in order {
                    let x = r.columns[c][a], y = r.columns[c][b]
                    if Self.less(x, y) { return !desc }
                    if Self.less(y, x) { return desc }
                }
                return a < b
            }
        }
        if let limit, limit < rows.count { rows.removeLast(rows.count - limit) }
        if order.isEmpty && rows.count == r.rowCount { return r }
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

    // MARK: Driving the scan

    /// Feeds every batch of the source to `body` (in symbol, then time order for tables) until it returns false.
    private func scanAll(_ body: (Batch) throws(StrataError) -> Bool) throws(StrataError) {
        let context = ScanContext()
        if let t = table {
            for (id, name) in tableSymbols(t) {
                if try !scanSymbol(t, id, name, context, stats: { (_, _, _) throws(StrataError) in false }, body) { return }
            }
        } else {
            _ = try body(try relationBatch(context))
        }
    }

    /// Scans one symbol's blocks in the time range. `stats` may take a whole block from its header
    /// (given when already parsed; returns true when it did, false to have it decoded). Returns false
    /// when `body` asked to stop. Both closures are non-escaping: nothing is allocated per symbol.
    func scanSymbol(
        _ t: Catalog.TableState, _ id: Int, _ name: String, _ context: ScanContext,
        stats: (BlockRef, Int, BlockHeader?) throws(StrataError) -> Bool,
        _ body: (Batch) throws(StrataError) -> Bool
    ) throws(StrataError) -> Bool {
        if timeRangeEmpty { return true }
        let blocks = t.symbols[id].blocks
        let columns = valueColumns
        var i = Snapshot.firstBlock(blocks, from: lo)
        while i < blocks.count, blocks[i].firstTime <= hi {
            let ref = blocks[i]
            let index = i
            i += 1
            var header: BlockHeader? = nil
            var predicatesHold = leftPredicates.isEmpty
            if !leftPredicates.isEmpty {
                let h = try snapshot.header(t, id, index)
                header = h
                var all = true
                var none = false
                for p in leftPredicates {
                    let v = p.expr.slot.map { p.verdict(h.stats($0 - 1), rows: h.rows) } ?? .some
                    if v == .none { none = true }
                    if v != .all { all = false }
                }
                if none { continue }
                predicatesHold = all
            }
            let whole = ref.firstTime >= lo && ref.lastTime <= hi
            if whole && predicatesHold, try stats(ref, index, header) { continue }
            _ = try snapshot.decode(t, id, index, columns: columnIndices, scaled: scaledColumns, into: context.decoded)
            let d = context.decoded
            let rlo = ref.firstTime >= lo ? 0 : d.times.partitionPoint { $0 >= lo }
            let rhi = ref.lastTime <= hi ? d.rows : d.times.partitionPoint { $0 > hi }
            if rlo >= rhi { continue }
            var batch = makeBatch(d, rlo, rhi, name, columns)
            batch = try prepare(batch, context, leftDone: predicatesHold)
            if batch.count > 0, try !body(batch) { return false }
        }
        return true
    }

    private func makeBatch(_ d: DecodedBlock, _ rlo: Int, _ rhi: Int, _ symbol: String, _ columns: [(slot: Int, column: Int)]) -> Batch {
        var vecs = [Vec?](repeating: nil, count: layout.slotTypes.count)
        vecs[layout.symbolSlot!] = Vec(.string(symbol))
        vecs[layout.timeSlot!] = Vec(.ints(d.times[rlo..<rhi]))
        for (k, c) in columns.enumerated() {
            if let scale = d.scales[k] {
                vecs[c.slot] = Vec(.decimals(d.ints[k][rlo..<rhi], scale))
            } else {
                vecs[c.slot] = d.types[k] == .int64 ? Vec(.ints(d.ints[k][rlo..<rhi])) : Vec(.floats(d.floats[k][rlo..<rhi]))
            }
        }
        return Batch(count: rhi - rlo, symbol: symbol, columns: vecs, sorted: true)
    }

    /// Applies the left conditions (unless statistics showed they hold), the join, then the conditions
    /// on the joined table.
    private func prepare(_ b: Batch, _ context: ScanContext, leftDone: Bool) throws(StrataError) -> Batch {
        var batch = b
        if !leftDone { batch = try filter(batch, leftPredicates) }
        if let join, batch.count > 0 {
            batch = try attach(join, batch, context)
            batch = try filter(batch, rightPredicates)
        }
        return batch
    }

    private func filter(_ b: Batch, _ predicates: [Predicate]) throws(StrataError) -> Batch {
        if predicates.isEmpty || b.count == 0 { return b }
        var keep = try predicates[0].mask(b)
        for p in predicates.dropFirst() {
            let m = try p.mask(b)
            for r in 0..<b.count { keep[r] = keep[r] && m[r] }
        }
        var rows: [Int] = []
        rows.reserveCapacity(b.count)
        for r in 0..<b.count where keep[r] { rows.append(r) }
        return rows.count == b.count ? b : b.filtered(rows)
    }

    // MARK: ASOF JOIN

    /// Adds the joined table's columns: for each row, the row of the same symbol with the largest time
    /// not after the row's time; nulls where there is none.
    private func attach(_ j: JoinSide, _ b: Batch, _ context: ScanContext) throws(StrataError) -> Batch {
        var batch = b
        let n = b.count
        let times = b.columns[layout.timeSlot!]!
        let symbols = b.columns[layout.symbolSlot!]!
        var match = [Int](repeating: -1, count: n)
        for r in 0..<n {
            guard case .string(let s) = symbols.value(r), case .int(let t) = times.value(r) else { continue }
            if context.rightSymbol != s { try loadRight(j, s, context) }
            match[r] = context.rightRow(atOrBefore: t)
        }
        let valid = ArraySlice(match.map { $0 >= 0 })
        let allValid = !match.contains(-1)
        let at = match.map { max($0, 0) }
        func column(_ v: Vec) -> Vec {
            if context.rightTimes.isEmpty { return v.padded(n) }
            var g = v.gather(at)
            g.valid = allValid ? nil : valid
            return g
        }
        // Rows of one symbol per batch for tables; a subquery's batch may mix symbols, so gather per row.
        if b.symbol != nil {
            batch.columns[j.timeSlot] = column(Vec(.ints(context.rightTimes[...])))
            for (k, c) in j.columns.enumerated() { batch.columns[c.slot] = column(context.rightColumns[k]) }
        } else {
            var cols = [ResultColumn](repeating: .int64([]), count: j.columns.count + 1)
            for (k, c) in j.columns.enumerated() { cols[k + 1] = ResultColumn(layout.slotTypes[c.slot]) }
            for r in 0..<n {
                guard case .string(let s) = symbols.value(r) else {
                    for k in cols.indices { cols[k].append(.null) }
                    continue
                }
                if context.rightSymbol != s { try loadRight(j, s, context) }
                guard case .int(let t) = times.value(r) else {
                    for k in cols.indices { cols[k].append(.null) }
                    continue
                }
                let m = context.rightRow(atOrBefore: t)
                if m < 0 {
                    for k in cols.indices { cols[k].append(.null) }
                } else {
                    cols[0].append(.int(context.rightTimes[m]))
                    for k in 0..<j.columns.count { cols[k + 1].append(context.rightColumns[k].value(m)) }
                }
            }
            batch.columns[j.timeSlot] = Vec(cols[0])
            for (k, c) in j.columns.enumerated() { batch.columns[c.slot] = Vec(cols[k + 1]) }
        }
        return batch
    }

    /// Reads every row of `symbol` in the joined table (one symbol's rows: bounded).
    private func loadRight(_ j: JoinSide, _ symbol: String, _ context: ScanContext) throws(StrataError) {
        context.rightSymbol = symbol
        context.rightTimes = []
        var ints = [[Int64]](repeating: [], count: j.columns.count)
        var floats = [[Double]](repeating: [], count: j.columns.count)
        if let id = j.table.symbolIDs[symbol] {
            let decoded = DecodedBlock()
            let indices = j.columns.map(\.column)
            for index in j.table.symbols[Int(id)].blocks.indices {
                _ = try snapshot.decode(j.table, Int(id), index, columns: indices, into: decoded)
                context.rightTimes.append(contentsOf: decoded.times)
                for k in indices.indices {
                    if decoded.types[k] == .int64 { ints[k].append(contentsOf: decoded.ints[k]) } else { floats[k].append(contentsOf: decoded.floats[k]) }
                }
            }
        }
        context.rightColumns = j.columns.indices.map { k in
            j.table.schema.columns[j.columns[k].column].type == .int64 ? Vec(.ints(ints[k][...])) : Vec(.floats(floats[k][...]))
        }
    }

    // MARK: Subquery source

    func relationBatch(_ context: ScanContext) throws(StrataError) -> Batch {
        let r = relation!
        var vecs = [Vec?](repeating: nil, count: layout.slotTypes.count)
        for (k, c) in r.columns.enumerated() { vecs[k] = Vec(c) }
        var batch = Batch(count: r.rowCount, symbol: nil, columns: vecs, sorted: false)
        var keep: [Int] = []
        for row in 0..<batch.count {
            if let s = layout.symbolSlot, symbolFilter != nil || !excludedSymbols.isEmpty {
                guard case .string(let name) = vecs[s]!.value(row), keepsSymbol(name) else { continue }
            }
            if let t = layout.timeSlot, !timeRangeAll {
                guard case .int(let v) = vecs[t]!.value(row), v >= lo && v <= hi else { continue }
            }
            keep.append(row)
        }
        if keep.count != batch.count { batch = batch.filtered(keep) }
        return try prepare(batch, context, leftDone: false)
    }

    // MARK: LATEST ON

    private func runLatest() throws(StrataError) -> QueryResult {
        var result = QueryResult(names: allNames, types: types)
        let context = ScanContext()
        guard let t = table else {
            // A subquery: per symbol, the row with the largest time (ties: the later row).
            let b = try relationBatch(context)
            var best: [String: (Int, Int64)] = [:]
            for r in 0..<b.count {
                guard case .string(let s) = b.columns[layout.symbolSlot!]!.value(r) else { continue }
                var time = Int64.min
                if let ts = layout.timeSlot, case .int(let v) = b.columns[ts]!.value(r) { time = v }
                if let old = best[s], old.1 > time { continue }
                best[s] = (r, time)
            }
            let rows = best.sorted { utf8Less($0.key, $1.key) }.map(\.value.0)
            try appendRows(b.filtered(rows), to: &result)
            return result
        }
        if timeRangeEmpty { return result }
        let symbols = tableSymbols(t)
        let parts = try parallel(symbols) { (chunk) throws(StrataError) -> QueryResult in
            var out = QueryResult(names: allNames, types: types)
            let context = ScanContext()
            for (id, name) in chunk { try latestRow(t, id, name, context, into: &out) }
            return out
        }
        for p in parts { result.append(p) }
        return result
    }

    private func latestRow(_ t: Catalog.TableState, _ id: Int, _ name: String, _ context: ScanContext, into out: inout QueryResult) throws(StrataError) {
        let blocks = t.symbols[id].blocks
        // The last block that starts at or before hi.
        var l = 0, h = blocks.count
        while l < h {
            let m = (l + h) / 2
            if blocks[m].firstTime <= hi { l = m + 1 } else { h = m }
        }
        var i = l - 1
        let columns = valueColumns
        let plain = predicates.isEmpty && join == nil && rowItems.allSatisfy { $0.slot != nil }
        while i >= 0 && blocks[i].lastTime >= lo {
            let ref = blocks[i]
            if plain && ref.lastTime <= hi {
                // The block's last row is the answer: take it from the statistics.
                let header = try snapshot.header(t, id, i)
                for (k, item) in rowItems.enumerated() {
                    let s = item.slot!
                    let v: ResultValue
                    if s == layout.symbolSlot { v = .string(name) } else if s == layout.timeSlot { v = .int(ref.lastTime) } else {
                        let bits = header.stats(s - 1).last
                        v = item.type == .int64 ? .int(bits) : .float(Double(bitPattern: UInt64(bitPattern: bits)))
                    }
                    out.columns[k].append(v)
                }
                return
            }
            _ = try snapshot.decode(t, id, i, columns: columnIndices, scaled: scaledColumns, into: context.decoded)
            let d = context.decoded
            let rlo = ref.firstTime >= lo ? 0 : d.times.partitionPoint { $0 >= lo }
            let rhi = ref.lastTime <= hi ? d.rows : d.times.partitionPoint { $0 > hi }
            if rlo < rhi {
                var batch = try filter(makeBatch(d, rlo, rhi, name, columns), leftPredicates)
                if join != nil && batch.count > 0 {
                    // Join only the candidates, last first, until one passes the joined conditions.
                    var r = batch.count - 1
                    while r >= 0 {
                        let one = try prepare(batch.filtered([r]), context, leftDone: true)
                        if one.count == 1 {
                            try appendRows(one, to: &out)
                            return
                        }
                        r -= 1
                    }
                } else if batch.count > 0 {
                    batch = batch.filtered([batch.count - 1])
                    try appendRows(batch, to: &out)
                    return
                }
            }
            i -= 1
        }
    }

    // MARK: Parallelism

    /// Runs `work` over contiguous chunks of the symbols on every core; results in symbol order.
    func parallel<T>(_ symbols: [(Int, String)], _ work: ([(Int, String)]) throws(StrataError) -> T) throws(StrataError) -> [T] {
        let cores = System.processorCount
        let chunks = symbols.count < 2 || cores == 1 ? 1 : min(symbols.count, cores * 4)
        if chunks == 1 { return [try work(symbols)] }
        let results = (0..<chunks).map { _ in Box<Result<T, StrataError>?>(nil) }
        let input = Box(symbols)
        withoutActuallyEscaping(work) { work in
            let w = Box(work)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let all = input.value
                let lo = all.count * c / chunks, hi = all.count * (c + 1) / chunks
                results[c].value = Result { () throws(StrataError) -> T in try w.value(Array(all[lo..<hi])) }
            }
        }
        var out: [T] = []
        for r in results { out.append(try r.value!.get()) }
        return out
    }
}

extension Vec {
    /// An all-null vector of `n` rows (the joined table has no rows for the symbol).
    func padded(_ n: Int) -> Vec {
        switch values {
        case .ints, .int: Vec(.ints(ArraySlice(repeating: 0, count: n)), valid: ArraySlice(repeating: false, count: n))
        case .floats, .float, .decimals: Vec(.floats(ArraySlice(repeating: 0, count: n)), valid: ArraySlice(repeating: false, count: n))
        default: Vec(.strings(ArraySlice(repeating: "", count: n)), valid: ArraySlice(repeating: false, count: n))
        }
    }
}
