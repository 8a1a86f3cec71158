// Aggregation (GROUP BY, SAMPLE BY, plain aggregates): batches and block statistics fold into a
// group table per worker, the tables merge, and the groups become result rows.

extension Plan {
    /// The result's rows in parts, handed to `deliver` in order (one part, or a few thousand groups
    /// each when the groups are per symbol, as the symbols' shares are done): `execute` hands them
    /// out in batches without joining them first.
    func executeAggregation(_ a: AggregationPlan, deliver: (QueryResult) throws(StrataError) -> Void) throws(StrataError) {
        let specs = a.aggregates
        var table = GroupTable(width: specs.count)
        if let t = self.table, a.bySymbol, a.fill.isEmpty || a.fill == [.none] {
            if timeRangeEmpty { try deliver(try finish(a, table)) } else { try aggregateBySymbol(a, t, deliver: deliver) }
            return
        }
        if let t = self.table, !timeRangeEmpty, case let symbols = tableSymbols(t), symbols.count == 1 {
            // One series: no other table to merge with, so finished groups can go as they are made.
            let g = GroupTable(width: specs.count)
            if let n = expectedBuckets(a, t, symbols) {
                g.reserve(groups: bucketsOnlyGrow(a, t, symbols[0].0) ? min(n, streamedGroups(g) + 1) : n)
            }
            try fold(a, t, symbols[0].0, symbols[0].1, ScanContext(), into: g, streaming: true, emit: deliver)
            try deliver(try finish(a, g))
            return
        }
        if let t = self.table {
            if !timeRangeEmpty {
                let parts = try parallel(tableSymbols(t)) { (share) throws(StrataError) -> GroupTable in
                    let g = GroupTable(width: specs.count)
                    if let n = expectedBuckets(a, t, share) { g.reserve(groups: n) }
                    let context = ScanContext()
                    for (id, name) in share { try fold(a, t, id, name, context, into: g) }
                    return g
                }
                table = parts[0]
                for p in parts.dropFirst() { table.merge(p, specs, disjoint: a.bySymbol) }
            }
        } else {
            let context = ScanContext()
            try relationBatches(context) { (b) throws(StrataError) in try consume(a, b, table) }
        }
        try deliver(try finish(a, table))
    }

    /// How many groups a SAMPLE BY of a fixed step can make from the rows of `share` in [lo, hi]
    /// (nil for other groupings), at most 16,384: the group table reserves room for them, so that
    /// its states are not copied into new memory at each doubling (in a fresh process those copies
    /// were 290 of one symbol's hourly resampling's 405 page faults). Per symbol, the buckets its
    /// rows span, summed, and at most 4,096 more than one symbol's (a table of per-symbol groups is
    /// finished after 4,096 groups); else the buckets all the rows span. Room reserved and not used
    /// is never touched.
    func expectedBuckets(_ a: AggregationPlan, _ t: Catalog.TableState, _ share: [(Int, String)]) -> Int? {
        guard let b = a.bucketer, b.calendar == nil, b.step > 0 else { return nil }
        let cap = 16_384
        func span(_ first: Int64, _ last: Int64) -> Int {
            let (first, last) = (max(first, lo), min(last, hi))
            guard first <= last else { return 0 }
            let (span, overflow) = last.subtractingReportingOverflow(first)
            return overflow ? cap : Int(min(span / b.step + 2, Int64(cap)))
        }
        var first = Int64.max, last = Int64.min
        var total = 0, most = 0
        for (id, _) in share {
            let blocks = t.symbols[id].blocks
            if blocks.count == 0 { continue }
            first = min(first, blocks[0].firstTime)
            last = max(last, blocks[blocks.count - 1].lastTime)
            let n = span(blocks[0].firstTime, blocks[blocks.count - 1].lastTime)
            total = min(total + n, cap)
            most = max(most, n)
        }
        let n = a.bySymbol ? min(total, 4_096 + most) : span(first, last)
        return n > 0 ? min(n, cap) : nil
    }

    /// Groups that start with the symbol are finished as their symbols are (a symbol's groups are
    /// complete once its blocks are read), a few thousand groups at a time: the memory held is the
    /// result, not the aggregation states of every group (about 1.1 KB a group for daily bars).
    /// Symbols are scanned in byte order in contiguous shares, so the finished parts, in order,
    /// are in the order `finish` gives one table; each share's are delivered as soon as it and the
    /// shares before it are done (`parallelInOrder`).
    private func aggregateBySymbol(
        _ a: AggregationPlan, _ t: Catalog.TableState, deliver: (QueryResult) throws(StrataError) -> Void
    ) throws(StrataError) {
        try parallel(tableSymbols(t), { (share) throws(StrataError) -> [QueryResult] in
            let g = GroupTable(width: a.aggregates.count)
            if let room = expectedBuckets(a, t, share) { g.reserve(groups: room) }
            var done: [QueryResult] = []
            let context = ScanContext()
            for (id, name) in share {
                try fold(a, t, id, name, context, into: g, streaming: true) { done.append($0) }
                if g.keys.count >= 4_096 {
                    done.append(try finish(a, g))
                    g.removeAll()
                }
            }
            done.append(try finish(a, g))
            return done
        }, deliver: { (parts) throws(StrataError) in
            for part in parts { try deliver(part) }
        })
    }

    /// Folds one symbol's rows into `g`: blocks its statistics answer, the rest decoded. With
    /// `streaming`, when the symbol's buckets only grow as its rows are read (so that the groups
    /// before the latest are complete), every `streamedGroups` groups those are finished and handed
    /// to `emit`, and the table keeps only the latest. A symbol's hourly resampling then touches a
    /// few pages of states again and again instead of 384 bytes of fresh memory a group (in a
    /// fresh process, 117 of one symbol's hourly resampling's 255 page faults).
    private func fold(
        _ a: AggregationPlan, _ t: Catalog.TableState, _ id: Int, _ name: String, _ context: ScanContext, into g: GroupTable,
        streaming: Bool = false, emit: (QueryResult) throws(StrataError) -> Void = { _ in }
    ) throws(StrataError) {
        let streamed = streaming && bucketsOnlyGrow(a, t, id) ? streamedGroups(g) : Int.max
        _ = try scanSymbol(t, id, name, context, stats: { (ref, index, header) throws(StrataError) in
            if !a.statsAnswerable { return false }
            return try fromStats(a, g, t, id, name, ref, index, header, copy: context.blockCopy)
        }) { (b) throws(StrataError) in
            try consume(a, b, g)
            if g.keys.count > streamed {
                try emit(try finish(a, g, groups: g.keys.count - 1))
                g.keepLatest()
            }
            return true
        }
    }

    /// How many groups a table keeps before the complete ones are finished: about 64 KB of states.
    private func streamedGroups(_ g: GroupTable) -> Int {
        max(64, 65_536 / (g.width * MemoryLayout<AggregateState>.stride + MemoryLayout<GroupKey>.stride))
    }

    /// Whether a symbol's rows, read in time order, fall in buckets that never decrease, so that a
    /// group is complete once a later one has begun: buckets of one fixed offset from UTC over the
    /// rows read (not across a change of a time zone's offset, which can go back; not a trading
    /// calendar's), no key but the bucket and the symbol, no FILL (which works on all the groups).
    private func bucketsOnlyGrow(_ a: AggregationPlan, _ t: Catalog.TableState, _ id: Int) -> Bool {
        guard let b = a.bucketer, a.extras.isEmpty, a.fill.isEmpty || a.fill == [.none] else { return false }
        let blocks = t.symbols[id].blocks
        guard blocks.count > 0 else { return false }
        let first = max(lo, blocks[0].firstTime), last = min(hi, blocks[blocks.count - 1].lastTime)
        return first <= last && b.fixedOffset(from: first, through: last) != nil
    }

    /// Answers a whole block from its statistics when its group is one key; false to decode it.
    func fromStats(
        _ a: AggregationPlan, _ g: GroupTable, _ t: Catalog.TableState, _ id: Int, _ symbol: String, _ ref: BlockRef, _ index: Int,
        _ parsed: BlockHeader?, copy: BlockCopy
    ) throws(StrataError) -> Bool {
        var bucket: Int64 = 0
        if let b = a.bucketer {
            bucket = b.bucket(ref.firstTime)
            if b.bucket(ref.lastTime) != bucket { return false }
        }
        let key = GroupKey(symbol: a.bySymbol ? symbol : "", bucket: bucket, extras: [], symbolID: a.bySymbol ? Int32(id) : -1)
        if a.countsOnly {
            let gi = g.group(key)
            for k in a.aggregates.indices { g.states[gi * g.width + k].n += Int64(ref.rows) }
            return true
        }
        let h: BlockHeader
        if let parsed { h = parsed } else { h = try snapshot.statsHeader(t, symbol: id, block: index, copy: copy) }
        // Asked twice rather than kept in an array: an allocation per block costs more than the question.
        for spec in a.aggregates where blockInput(spec, h, t, ref) == nil { return false }
        let gi = g.group(key)
        for (k, spec) in a.aggregates.enumerated() {
            guard let input = blockInput(spec, h, t, ref) else { return false }
            spec.update(&g.states[gi * g.width + k], block: input, firstTime: ref.firstTime, lastTime: ref.lastTime)
        }
        return true
    }

    /// What the header says of an aggregate's argument in a block; nil when the block must be decoded
    /// (an Int64 sum that overflowed; first/last of a column with nulls, whose rows' times the header
    /// lacks; min/max/first/last of text, whose statistics are dictionary codes).
    private func blockInput(_ spec: AggregateSpec, _ h: BlockHeader, _ t: Catalog.TableState, _ ref: BlockRef) -> BlockInput? {
        guard let s = spec.args.first?.slot, s != layout.symbolSlot else { return BlockInput(stats: nil, values: h.rows) }
        if s == layout.timeSlot {
            var ts = ColumnStats()
            (ts.min, ts.max, ts.first, ts.last) = (ref.firstTime, ref.lastTime, ref.firstTime, ref.lastTime)
            return BlockInput(stats: ts, values: h.rows)
        }
        guard let c = chunk(h, t, slot: s) else { return BlockInput(stats: nil, values: 0) }
        let stats = h.stats(c), nulls = h.nullCount(c)
        switch spec.function {
        case .sum, .avg: if spec.args[0].type == .int64 && stats.sumOverflowed { return nil }
        case .first, .last: if nulls > 0 || spec.args[0].type == .string { return nil }
        case .min, .max: if spec.args[0].type == .string { return nil }
        default: break
        }
        return BlockInput(stats: stats, values: h.rows - nulls)
    }

    func consume(_ a: AggregationPlan, _ b: Batch, _ g: GroupTable) throws(StrataError) {
        let n = b.count
        if n == 0 { return }
        let symbolVec: Vec? = a.bySymbol && b.symbol == nil ? b.columns[layout.symbolSlot!] : nil
        let times: Vec? = layout.timeSlot.flatMap { b.columns[$0] }
        var extras: [Vec] = []
        for e in a.extras { extras.append(try Evaluator.eval(e, b)) }
        let args = try Self.arguments(a, b)
        // The batch's runs of rows that share a group, then each aggregate over all runs: the argument
        // vectors are taken once per batch, not once per run.
        let simple = symbolVec == nil && extras.isEmpty
        let runs = (simple ? Self.bucketRuns(a, b, times, g) : nil)
            ?? Self.groupRuns(a, b, times: times, symbols: symbolVec, extras: extras, g)
        let width = g.width
        // The side values are moved out for the loop (and back): passing the table's own arrays inout
        // would check exclusive access at every run.
        var side = g.side
        g.side = SideValues()
        defer { g.side = side }
        g.states.withUnsafeMutableBufferPointer { states in
            for (k, spec) in a.aggregates.enumerated() {
                let (x, y) = args[k]
                spec.update(states, width: width, aggregate: k, runs: runs, x, y, times: times, sorted: b.sorted, side: &side)
            }
        }
    }

    /// Each aggregate's arguments evaluated over the batch (vwap's as Float64).
    private static func arguments(_ a: AggregationPlan, _ b: Batch) throws(StrataError) -> [(Vec?, Vec?)] {
        var args: [(Vec?, Vec?)] = []
        for spec in a.aggregates {
            var x = try spec.args.first.map { (e) throws(StrataError) in try Evaluator.eval(e, b) }
            var y = try spec.args.count > 1 ? Evaluator.eval(spec.args[1], b) : nil
            if spec.function == .vwap || spec.function == .weightedAvg {
                x = x.map { Vec(.floats($0.floatValues(b.count)), valid: $0.valid) }
                y = y.map { Vec(.floats($0.floatValues(b.count)), valid: $0.valid) }
            }
            args.append((x, y))
        }
        return args
    }

    /// The fast path of SAMPLE BY: rows of one symbol in time order with one offset from UTC
    /// throughout, where a bucket is a run of rows below its end. Nil when it does not apply.
    private static func bucketRuns(
        _ a: AggregationPlan, _ b: Batch, _ times: Vec?, _ g: GroupTable
    ) -> [GroupRun]? {
        guard b.sorted, let bucketer = a.bucketer, let times, let symbol = a.bySymbol ? b.symbol : "" else { return nil }
        let n = b.count
        let t = times.intValues(n)
        guard let offset = bucketer.fixedOffset(from: t[t.startIndex], through: t[t.endIndex - 1]) else { return nil }
        var runs: [GroupRun] = []
        var r = 0
        while r < n {
            let local = floorDiv(t[t.startIndex + r] &+ offset, bucketer.step) &* bucketer.step
            let end = local &+ bucketer.step &- offset  // first time of the next bucket
            let e = Self.firstAtOrAfter(t, end, from: r + 1)
            runs.append(GroupRun(lo: r, hi: e, group: g.group(GroupKey(symbol: symbol, bucket: local, extras: [], symbolID: a.bySymbol ? b.symbolID : -1))))
            r = e
        }
        return runs
    }

    /// The general path: runs of consecutive rows with the same bucket, symbol and extra keys.
    private static func groupRuns(
        _ a: AggregationPlan, _ b: Batch, times: Vec?, symbols symbolVec: Vec?, extras: [Vec], _ g: GroupTable
    ) -> [GroupRun] {
        let n = b.count
        let simple = symbolVec == nil && extras.isEmpty
        let buckets: [Int64]? = a.bucketer.map { $0.buckets(times!.intValues(n)) }
        var runs: [GroupRun] = []
        var r = 0
        while r < n {
            var e = r + 1
            if simple {
                if let buckets {
                    let k = buckets[r]
                    while e < n && buckets[e] == k { e += 1 }
                } else {
                    e = n
                }
            } else {
                while e < n {
                    if let buckets, buckets[e] != buckets[r] { break }
                    if let s = symbolVec, s.value(e) != s.value(r) { break }
                    if extras.contains(where: { $0.value(e) != $0.value(r) }) { break }
                    e += 1
                }
            }
            var symbol = ""
            if a.bySymbol {
                if let s = b.symbol { symbol = s } else if case .string(let s) = symbolVec!.value(r) { symbol = s } else { symbol = "\u{0}null" }
            }
            let key = GroupKey(
                symbol: symbol, bucket: buckets?[r] ?? 0, extras: extras.map { KeyValue($0.value(r)) },
                symbolID: a.bySymbol && b.symbol != nil ? b.symbolID : -1)
            runs.append(GroupRun(lo: r, hi: e, group: g.group(key)))
            r = e
        }
        return runs
    }

    /// The result rows of the table's groups, or of its first `count` groups.
    func finish(_ a: AggregationPlan, _ g: GroupTable, groups count: Int? = nil) throws(StrataError) -> QueryResult {
        let specs = a.aggregates
        if g.keys.isEmpty && a.keys.isEmpty {
            _ = g.group(GroupKey(symbol: "", bucket: 0, extras: []))
        }
        let groups = Self.orderedGroups(g, count ?? g.keys.count)
        var keys = groups.map { g.keys[$0] }
        var aggregates: [ResultColumn] = []
        if a.bucketer != nil, !a.fill.isEmpty, a.fill != [.none] {
            // FILL works on rows: the groups' values, then the inserted buckets.
            var rows: [[ResultValue]] = []
            for gi in groups { rows.append(try Self.aggregateValues(a, g, gi)) }
            (keys, rows) = try Self.fill(keys, rows, a, a.bucketer!.step)
            for (k, spec) in specs.enumerated() { aggregates.append(try ResultColumn(spec.type, count: rows.count) { rows[$0][k] }) }
        } else {
            for (k, spec) in specs.enumerated() {
                aggregates.append(try spec.resultColumn(g.states, width: g.width, aggregate: k, groups: groups, side: g.side))
            }
        }
        return try outputs(a, keys, aggregates)
    }

    /// The output columns over the groups: an aggregate or a key is taken as it is; any other
    /// expression is evaluated over the groups' aggregate and key columns as rows.
    private func outputs(_ a: AggregationPlan, _ keys: [GroupKey], _ aggregates: [ResultColumn]) throws(StrataError) -> QueryResult {
        var result = QueryResult(names: allNames, types: types)
        var keyColumns: [ResultColumn] = []
        for (j, kind) in a.keys.enumerated() {
            keyColumns.append(try ResultColumn(a.keyTypes[j], count: keys.count) { Self.keyValue(kind, keys[$0], a) })
        }
        var groupRows: Batch? = nil
        for (c, out) in a.outputs.enumerated() {
            switch out {
            case .aggregate(let k, _): result.columns[c] = aggregates[k]
            case .key(let j, _): result.columns[c] = keyColumns[j]
            default:
                if groupRows == nil {
                    groupRows = Batch(count: keys.count, symbol: nil, columns: (aggregates + keyColumns).map { Vec($0) }, sorted: false)
                }
                let e = out.overGroups(aggregateSlot: { $0 }, keySlot: { aggregates.count + $0 })
                Self.append(try Evaluator.eval(e, groupRows!), count: keys.count, to: &result.columns[c])
            }
        }
        return result
    }

    /// Group numbers by series (symbol, other keys), then bucket. Groups of a scan in symbol and
    /// time order are found in order: checked before sorting.
    private static func orderedGroups(_ g: GroupTable, _ count: Int) -> [Int] {
        var groups = Array(0..<count)
        func before(_ x: Int, _ y: Int) -> Bool {
            let p = g.keys[x], q = g.keys[y]
            if !sameBytes(p.symbol, q.symbol) { return utf8Less(p.symbol, q.symbol) }
            for (u, v) in zip(p.extras, q.extras) where u != v { return Self.less(u.value, v.value) }
            return p.bucket < q.bucket
        }
        if groups.indices.dropFirst().contains(where: { before(groups[$0], groups[$0 - 1]) }) {
            groups.sort(by: before)
        }
        return groups
    }

    /// Every aggregate's result for group `gi`.
    private static func aggregateValues(_ a: AggregationPlan, _ g: GroupTable, _ gi: Int) throws(StrataError) -> [ResultValue] {
        var row: [ResultValue] = []
        for (k, spec) in a.aggregates.enumerated() {
            row.append(try spec.result(g.states[gi * g.width + k], name: spec.text, side: g.side))
        }
        return row
    }

    private static func keyValue(_ kind: KeyKind, _ key: GroupKey, _ a: AggregationPlan) -> ResultValue {
        switch kind {
        case .symbol: sameBytes(key.symbol, "\u{0}null") ? .null : .string(key.symbol)
        case .bucket: .int(a.bucketer!.start(key.bucket))
        case .extra(let i): key.extras[i].value
        }
    }
}
