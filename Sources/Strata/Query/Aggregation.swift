// Aggregation: group keys and tables, consuming batches and block statistics, FILL, the result rows.

/// A key of an aggregation group.
struct GroupKey: Hashable {
    var symbol: String
    var bucket: Int64
    var extras: [KeyValue]
}

/// A group key value; Float64 by bit pattern so NaN groups with NaN.
enum KeyValue: Hashable {
    case null, int(Int64), float(UInt64), string(String)

    init(_ v: ResultValue) {
        switch v {
        case .null: self = .null
        case .int(let x): self = .int(x)
        case .float(let d): self = .float(d.bitPattern)
        case .string(let s): self = .string(s)
        }
    }

    var value: ResultValue {
        switch self {
        case .null: .null
        case .int(let x): .int(x)
        case .float(let b): .float(Double(bitPattern: b))
        case .string(let s): .string(s)
        }
    }
}

/// Groups and their aggregate states, in the order they were first seen.
final class GroupTable: @unchecked Sendable {
    /// The index hashes a symbol's number, not its text: symbols are numbered as first seen.
    private struct IndexKey: Hashable {
        var symbol: Int
        var bucket: Int64
        var extras: [KeyValue]
    }

    private var index: [IndexKey: Int] = [:]
    private var symbolNumbers: [String: Int] = [:]
    private var lastSymbol: (name: String, number: Int)?
    var keys: [GroupKey] = []
    var states: [AggregateState] = []
    let width: Int
    private let blank: [AggregateState]

    init(width: Int) {
        self.width = width
        blank = Array(repeating: AggregateState(), count: width)
    }

    /// The group last looked up: consecutive blocks and rows mostly fall in the same group.
    private var last: (key: GroupKey, group: Int)?

    @inline(__always)
    func group(_ k: GroupKey) -> Int {
        if let last, last.key == k { return last.group }
        let g = lookup(k)
        last = (k, g)
        return g
    }

    /// A symbol's number, and whether this call numbered it (no group has it yet).
    private func symbolNumber(_ s: String) -> (number: Int, new: Bool) {
        if let lastSymbol, lastSymbol.name == s { return (lastSymbol.number, false) }
        var result = (number: symbolNumbers.count, new: false)
        if let known = symbolNumbers[s] {
            result.number = known
        } else {
            symbolNumbers[s] = result.number
            result.new = true
        }
        lastSymbol = (s, result.number)
        return result
    }

    /// The symbol of the latest group and the largest bucket among that symbol's groups: a key of
    /// that symbol with a larger bucket, or of a new symbol, is a new group without a lookup.
    private var current: (symbol: Int, maxBucket: Int64)?
    /// Keys [0, indexed) are in `index`; the index catches up only when a lookup needs it.
    private var indexed = 0

    private func lookup(_ k: GroupKey) -> Int {
        let (symbol, isNew) = symbolNumber(k.symbol)
        if k.extras.isEmpty {
            if isNew {
                current = (symbol, k.bucket)
                return append(k)
            }
            if let c = current, c.symbol == symbol, k.bucket > c.maxBucket {
                current = (symbol, k.bucket)
                return append(k)
            }
        }
        while indexed < keys.count {
            let key = keys[indexed]
            index[IndexKey(symbol: symbolNumber(key.symbol).number, bucket: key.bucket, extras: key.extras)] = indexed
            indexed += 1
        }
        let ik = IndexKey(symbol: symbol, bucket: k.bucket, extras: k.extras)
        if let g = index[ik] {
            if current?.symbol != symbol { current = nil }
            return g
        }
        if current?.symbol != symbol { current = nil }
        let g = append(k)
        index[ik] = g
        indexed = keys.count
        return g
    }

    private func append(_ k: GroupKey) -> Int {
        keys.append(k)
        states.append(contentsOf: blank)
        return keys.count - 1
    }

    /// Folds in a table that saw later symbols. With `disjoint` (the groups are per symbol, and each
    /// table saw other symbols) no key can be in both: the groups are appended and the index is
    /// rebuilt only if a lookup needs it.
    func merge(_ other: GroupTable, _ specs: [AggregateSpec], disjoint: Bool) {
        if disjoint {
            keys.append(contentsOf: other.keys)
            states.append(contentsOf: other.states)
            for k in other.keys { _ = symbolNumber(k.symbol) }
            last = nil
            current = nil
            return
        }
        for (g, k) in other.keys.enumerated() {
            let mine = group(k)
            for (a, spec) in specs.enumerated() { spec.merge(&states[mine * width + a], other.states[g * width + a]) }
        }
    }
}

extension Plan {
    // MARK: Aggregation: groups, statistics, fill

    func runAggregation(_ a: AggregationPlan) throws(StrataError) -> QueryResult {
        let specs = a.aggregates
        var table = GroupTable(width: specs.count)
        if let t = self.table {
            if !timeRangeEmpty {
                let parts = try parallel(tableSymbols(t)) { (chunk) throws(StrataError) -> GroupTable in
                    let g = GroupTable(width: specs.count)
                    let context = ScanContext()
                    for (id, name) in chunk {
                        _ = try scanSymbol(t, id, name, context, stats: { (ref, index, header) throws(StrataError) in
                            if !a.statsAnswerable { return false }
                            return try fromStats(a, g, t, id, name, ref, index, header)
                        }) { (b) throws(StrataError) in
                            try consume(a, b, g)
                            return true
                        }
                    }
                    return g
                }
                table = parts[0]
                for p in parts.dropFirst() { table.merge(p, specs, disjoint: a.bySymbol) }
            }
        } else {
            try consume(a, try relationBatch(ScanContext()), table)
        }
        return try finish(a, table)
    }

    /// Answers a whole block from its statistics when its group is one key; false to decode it.
    private func fromStats(
        _ a: AggregationPlan, _ g: GroupTable, _ t: Catalog.TableState, _ id: Int, _ symbol: String, _ ref: BlockRef, _ index: Int,
        _ parsed: BlockHeader?
    ) throws(StrataError) -> Bool {
        var bucket: Int64 = 0
        if let b = a.bucketer {
            bucket = b.bucket(ref.firstTime)
            if b.bucket(ref.lastTime) != bucket { return false }
        }
        let key = GroupKey(symbol: a.bySymbol ? symbol : "", bucket: bucket, extras: [])
        if a.countsOnly {
            let gi = g.group(key)
            for k in a.aggregates.indices { g.states[gi * g.width + k].n += Int64(ref.rows) }
            return true
        }
        let h: BlockHeader
        if let parsed { h = parsed } else { h = try snapshot.header(t, id, index) }
        for spec in a.aggregates where spec.function == .sum || spec.function == .avg {
            if spec.args[0].type == .int64 && h.stats(spec.args[0].slot! - 1).sumOverflowed { return false }
        }
        let gi = g.group(key)
        for (k, spec) in a.aggregates.enumerated() {
            var stats: ColumnStats? = nil
            if let s = spec.args.first?.slot, s != layout.symbolSlot {
                if s == layout.timeSlot {
                    var ts = ColumnStats()
                    (ts.min, ts.max, ts.first, ts.last) = (ref.firstTime, ref.lastTime, ref.firstTime, ref.lastTime)
                    stats = ts
                } else {
                    stats = h.stats(s - 1)
                }
            }
            spec.update(&g.states[gi * g.width + k], stats: stats, rows: h.rows, firstTime: ref.firstTime, lastTime: ref.lastTime)
        }
        return true
    }

    private func consume(_ a: AggregationPlan, _ b: Batch, _ g: GroupTable) throws(StrataError) {
        let n = b.count
        if n == 0 { return }
        let symbolVec: Vec? = a.bySymbol && b.symbol == nil ? b.columns[layout.symbolSlot!] : nil
        let times: Vec? = layout.timeSlot.flatMap { b.columns[$0] }
        var extras: [Vec] = []
        for e in a.extras { extras.append(try Evaluator.eval(e, b)) }
        var args: [(Vec?, Vec?)] = []
        for spec in a.aggregates {
            var x = try spec.args.first.map { (e) throws(StrataError) in try Evaluator.eval(e, b) }
            var y = try spec.args.count > 1 ? Evaluator.eval(spec.args[1], b) : nil
            if spec.function == .vwap {
                x = x.map { Vec(.floats($0.floatValues(n)), valid: $0.valid) }
                y = y.map { Vec(.floats($0.floatValues(n)), valid: $0.valid) }
            }
            args.append((x, y))
        }
        // The batch's runs of rows that share a group, then each aggregate over all runs: the argument
        // vectors are taken once per batch, not once per run.
        var runs: [(lo: Int, hi: Int, group: Int)] = []
        let simple = symbolVec == nil && extras.isEmpty
        var done = false
        if simple, b.sorted, let bucketer = a.bucketer, let times, let symbol = a.bySymbol ? b.symbol : "" {
            // Rows in time order with one offset from UTC throughout: a bucket is a run of rows below its end.
            let t = times.intValues(n)
            let first = t[t.startIndex], last = t[t.endIndex - 1]
            if let offset = bucketer.fixedOffset(from: first, through: last) {
                var r = 0
                while r < n {
                    let local = floorDiv(t[t.startIndex + r] &+ offset, bucketer.step) &* bucketer.step
                    let end = local &+ bucketer.step &- offset  // first time of the next bucket
                    let e = Self.firstAtOrAfter(t, end, from: r + 1)
                    runs.append((r, e, g.group(GroupKey(symbol: symbol, bucket: local, extras: []))))
                    r = e
                }
                done = true
            }
        }
        if !done {
            let buckets: [Int64]? = a.bucketer.map { $0.buckets(times!.intValues(n)) }
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
                let key = GroupKey(symbol: symbol, bucket: buckets?[r] ?? 0, extras: extras.map { KeyValue($0.value(r)) })
                runs.append((r, e, g.group(key)))
                r = e
            }
        }
        let width = g.width
        for (k, spec) in a.aggregates.enumerated() {
            let (x, y) = args[k]
            for run in runs {
                spec.update(&g.states[run.group * width + k], run.lo, run.hi, x, y, times, sorted: b.sorted)
            }
        }
    }

    /// The first row at or after `from` whose time is ≥ `end` (n when none), in sorted times: a
    /// galloping search, as buckets hold many rows.
    static func firstAtOrAfter(_ t: ArraySlice<Int64>, _ end: Int64, from: Int) -> Int {
        let n = t.count, base = t.startIndex
        var lo = from, step = 1
        var hi = from
        while hi < n && t[base + hi] < end {
            lo = hi + 1
            hi += step
            step <<= 1
        }
        hi = Swift.min(hi, n)
        while lo < hi {
            let mid = (lo + hi) >> 1
            if t[base + mid] < end { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func finish(_ a: AggregationPlan, _ g: GroupTable) throws(StrataError) -> QueryResult {
        let specs = a.aggregates
        var result = QueryResult(names: allNames, types: types)
        if g.keys.isEmpty && a.keys.isEmpty {
            _ = g.group(GroupKey(symbol: "", bucket: 0, extras: []))
        }
        // Groups by series (symbol, other keys), then bucket.
        var groups = Array(g.keys.indices)
        func before(_ x: Int, _ y: Int) -> Bool {
            let p = g.keys[x], q = g.keys[y]
            if p.symbol != q.symbol { return utf8Less(p.symbol, q.symbol) }
            for (u, v) in zip(p.extras, q.extras) where u != v { return Self.less(u.value, v.value) }
            return p.bucket < q.bucket
        }
        // Groups of a scan in symbol and time order are found in order: check before sorting.
        if groups.indices.dropFirst().contains(where: { before(groups[$0], groups[$0 - 1]) }) {
            groups.sort(by: before)
        }
        func keyValue(_ kind: KeyKind, _ key: GroupKey) -> ResultValue {
            switch kind {
            case .symbol: key.symbol == "\u{0}null" ? .null : .string(key.symbol)
            case .bucket: .int(a.bucketer!.start(key.bucket))
            case .extra(let i): key.extras[i].value
            }
        }
        if let bucketer = a.bucketer, !a.fill.isEmpty, a.fill != [.none] {
            // FILL works on rows: the groups' values, then the inserted buckets, then the outputs.
            var values: [[ResultValue]] = []
            var keys: [GroupKey] = []
            for gi in groups {
                var row: [ResultValue] = []
                for (k, spec) in specs.enumerated() {
                    row.append(try spec.result(g.states[gi * g.width + k], name: spec.text))
                }
                values.append(row)
                keys.append(g.keys[gi])
            }
            (keys, values) = try Self.fill(keys, values, a, bucketer.step)
            for (key, row) in zip(keys, values) {
                let keyValues = a.keys.map { keyValue($0, key) }
                for (c, out) in a.outputs.enumerated() {
                    result.columns[c].append(try Evaluator.scalar(out, aggregates: row, keys: keyValues))
                }
            }
            return result
        }
        // Column by column: an output that is an aggregate or a key is read straight from the groups.
        for (c, out) in a.outputs.enumerated() {
            switch out {
            case .aggregate(let k, _):
                let spec = specs[k]
                result.columns[c] = try ResultColumn(out.type, count: groups.count) { (r) throws(StrataError) in
                    try spec.result(g.states[groups[r] * g.width + k], name: spec.text)
                }
            case .key(let j, _):
                let kind = a.keys[j]
                result.columns[c] = try ResultColumn(out.type, count: groups.count) { (r) throws(StrataError) in
                    keyValue(kind, g.keys[groups[r]])
                }
            default:
                result.columns[c] = try ResultColumn(out.type, count: groups.count) { (r) throws(StrataError) in
                    let gi = groups[r]
                    var row: [ResultValue] = []
                    for (k, spec) in specs.enumerated() {
                        row.append(try spec.result(g.states[gi * g.width + k], name: spec.text))
                    }
                    let keyValues = a.keys.map { keyValue($0, g.keys[gi]) }
                    return try Evaluator.scalar(out, aggregates: row, keys: keyValues)
                }
            }
        }
        return result
    }

    static let fillRowsMax = 10_000_000

    /// Inserts the empty buckets between a series' first and last bucket, with values per FILL.
    static func fill(_ keys: [GroupKey], _ values: [[ResultValue]], _ a: AggregationPlan, _ step: Int64) throws(StrataError) -> ([GroupKey], [[ResultValue]]) {
        var outKeys: [GroupKey] = []
        var outValues: [[ResultValue]] = []
        var added = 0
        let specs = a.aggregates
        func mode(_ k: Int) -> SampleBy.Fill { a.fill.count == 1 ? a.fill[0] : a.fill[k] }
        for i in keys.indices {
            if i > 0, keys[i - 1].symbol == keys[i].symbol, keys[i - 1].extras == keys[i].extras {
                let (b0, b1) = (keys[i - 1].bucket, keys[i].bucket)
                let gaps = (b1 - b0) / step - 1
                if gaps > 0 {
                    added += Int(gaps)
                    if added > fillRowsMax { throw .badInput("FILL would add more than \(fillRowsMax) rows") }
                    var previous = values[i - 1]
                    var bucket = b0 + step
                    var k = 1
                    while bucket < b1 {
                        var row: [ResultValue] = []
                        for (c, spec) in specs.enumerated() {
                            switch mode(c) {
                            case .none, .null: row.append(.null)
                            case .prev: row.append(previous[c])
                            case .constant(let x):
                                if spec.type == .int64, let v = Int64(exactly: x) { row.append(.int(v)) } else { row.append(.float(x)) }
                            case .linear:
                                let f = Double(k) / Double(gaps + 1)
                                switch (values[i - 1][c], values[i][c]) {
                                case (.int(let x), .int(let y)): row.append(.int(x + Int64((Double(y - x) * f).rounded(.towardZero))))
                                case (let x, let y):
                                    if let p = x.double, let q = y.double { row.append(.float(p + (q - p) * f)) } else { row.append(.null) }
                                }
                            }
                        }
                        if a.fill.contains(.none) {
                            // Mixed NONE with other fills: the bucket is left out.
                        } else {
                            outKeys.append(GroupKey(symbol: keys[i].symbol, bucket: bucket, extras: keys[i].extras))
                            outValues.append(row)
                        }
                        previous = row
                        bucket += step
                        k += 1
                    }
                }
            }
            outKeys.append(keys[i])
            outValues.append(values[i])
        }
        return (outKeys, outValues)
    }
}
