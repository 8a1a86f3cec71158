// ASOF JOIN: each left row takes the right table's row of the same symbol with the largest time
// not after its own.

extension ScanContext {
    /// The joined row with the largest time not after `t`, or -1.
    func rightRow(atOrBefore t: Int64) -> Int {
        partitionPoint(in: 0..<rightTimes.count) { rightTimes[$0] > t } - 1
    }

    /// `rightRow(atOrBefore:)` of each of `times` into `match`: times in ascending order (`sorted`)
    /// walk the joined rows once, alongside; others are searched one at a time.
    func matchRows(_ times: ArraySlice<Int64>, sorted: Bool, into match: inout [Int]) {
        guard sorted else {
            for (r, t) in times.enumerated() { match[r] = rightRow(atOrBefore: t) }
            return
        }
        rightTimes.withUnsafeBufferPointer { right in
            var m = -1  // the last joined row at or before the current time
            for (r, t) in times.enumerated() {
                while m + 1 < right.count && right[m + 1] <= t { m += 1 }
                match[r] = m
            }
        }
    }
}

extension Plan {
    /// Adds the joined table's columns: for each row, the row of the same symbol with the largest time
    /// not after the row's time; nulls where there is none.
    func attach(_ j: JoinSide, _ b: Batch, _ context: ScanContext) throws(StrataError) -> Batch {
        var batch = b
        let n = b.count
        let times = b.columns[layout.timeSlot!]!
        let symbols = b.columns[layout.symbolSlot!]!
        var match = [Int](repeating: -1, count: n)
        if let s = b.symbol, case .ints(let t) = times.values, times.valid == nil {
            // A table's batch: one symbol, times without nulls (in order: matched in one merge).
            if context.rightSymbol != s { try loadRight(j, s, context) }
            context.matchRows(t, sorted: b.sorted, into: &match)
        } else {
            for r in 0..<n {
                guard case .string(let s) = symbols.value(r), case .int(let t) = times.value(r) else { continue }
                if context.rightSymbol != s { try loadRight(j, s, context) }
                match[r] = context.rightRow(atOrBefore: t)
            }
        }
        let allValid = !match.contains(-1)
        let valid = allValid ? [] : ArraySlice(match.map { $0 >= 0 })
        let at = allValid ? match : match.map { max($0, 0) }
        func column(_ v: Vec) -> Vec {
            if context.rightTimes.isEmpty { return v.padded(n) }
            var g = v.gather(at)
            g.valid = allValid ? nil : valid
            return g
        }
        // Rows of one symbol per batch for tables; a subquery's batch may mix symbols, so gather per row.
        if b.symbol != nil {
            if j.readsTime { batch.columns[j.timeSlot] = column(Vec(.ints(context.rightTimes[...]))) }
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
            if j.readsTime { batch.columns[j.timeSlot] = Vec(cols[0]) }
            for (k, c) in j.columns.enumerated() { batch.columns[c.slot] = Vec(cols[k + 1]) }
        }
        return batch
    }

    /// Reads every row of `symbol` in the joined table (one symbol's rows: bounded).
    func loadRight(_ j: JoinSide, _ symbol: String, _ context: ScanContext) throws(StrataError) {
        context.rightSymbol = symbol
        context.rightTimes = []
        var ints = [[Int64]](repeating: [], count: j.columns.count)
        var floats = [[Double]](repeating: [], count: j.columns.count)
        if let id = j.table.symbolID(symbol) {
            let decoded = DecodedBlock()
            let indices = j.columns.map(\.column)
            for index in j.table.symbols[Int(id)].blocks.indices {
                _ = try snapshot.decode(j.table, symbol: Int(id), block: index, columns: indices, into: decoded)
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
