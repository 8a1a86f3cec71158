// LATEST ON ts PARTITION BY symbol: the last row of each symbol at or before the time bound,
// found from the newest block backwards.

extension Plan {
    func executeLatestOn() throws(StrataError) -> QueryResult {
        var result = QueryResult(names: allNames, types: types)
        let context = ScanContext()
        guard let t = table else {
            // A subquery: per symbol, the row with the largest time (ties: the later row).
            let b = try relationBatch(context)
            var best: [ByteString: (Int, Int64)] = [:]
            for r in 0..<b.count {
                guard case .string(let s) = b.columns[layout.symbolSlot!]!.value(r) else { continue }
                var time = Int64.min
                if let ts = layout.timeSlot, case .int(let v) = b.columns[ts]!.value(r) { time = v }
                if let old = best[ByteString(s)], old.1 > time { continue }
                best[ByteString(s)] = (r, time)
            }
            let rows = best.sorted { $0.key < $1.key }.map(\.value.0)
            try appendRows(b.filtered(rows), to: &result)
            return result
        }
        if timeRangeEmpty { return result }
        let symbols = tableSymbols(t)
        let parts = try parallel(symbols) { (share) throws(StrataError) -> QueryResult in
            var out = QueryResult(names: allNames, types: types)
            let context = ScanContext()
            for (id, name) in share { try latestRow(t, id, name, context, into: &out) }
            return out
        }
        for p in parts { result.append(p) }
        return result
    }

    /// The last row of a block from its header: nil when a column needs decoding (text, or a column
    /// with nulls, whose `last` statistic is its last value, not its last row's).
    private func lastRowFromStats(_ t: Catalog.TableState, _ id: Int, _ name: String, block i: Int) throws(StrataError) -> [ResultValue]? {
        let header = try snapshot.header(t, symbol: id, block: i)
        var row: [ResultValue] = []
        for item in rowItems {
            let s = item.slot!
            if s == layout.symbolSlot {
                row.append(.string(name))
            } else if s == layout.timeSlot {
                row.append(.int(header.lastTime))
            } else if let c = chunk(header, t, slot: s) {
                if item.type == .string || header.nullCount(c) > 0 { return nil }
                let bits = header.stats(c).last
                row.append(item.type == .int64 ? .int(bits) : .float(Double(bitPattern: UInt64(bitPattern: bits))))
            } else {
                row.append(.null)
            }
        }
        return row
    }

    /// Row `r` of a decoded block as a result row (a plain LATEST ON: every item is a column).
    private func resultRow(_ d: DecodedBlock, _ r: Int, _ name: String) -> [ResultValue] {
        rowItems.map { item -> ResultValue in
            let s = item.slot!
            if s == layout.symbolSlot { return .string(name) }
            if s == layout.timeSlot { return .int(d.times[r]) }
            guard let k = valueColumns.firstIndex(where: { $0.slot == s }) else { return .null }
            switch d.value(k, r) {
            case .null: return .null
            case .int64(let v): return .int(v)
            case .float64(let v): return .float(v)
            case .string(let v): return .string(v)
            }
        }
    }

    func latestRow(_ t: Catalog.TableState, _ id: Int, _ name: String, _ context: ScanContext, into out: inout QueryResult) throws(StrataError) {
        let blocks = t.symbols[id].blocks
        // The last block that starts at or before hi.
        var i = partitionPoint(in: 0..<blocks.count) { blocks[$0].firstTime > hi } - 1
        let columns = valueColumns
        let plain = predicates.isEmpty && join == nil && rowItems.allSatisfy { $0.slot != nil }
        while i >= 0 && blocks[i].lastTime >= lo {
            let ref = blocks[i]
            if plain && ref.lastTime <= hi, let row = try lastRowFromStats(t, id, name, block: i) {
                // The block's last row is the answer, taken from the statistics.
                for (k, v) in row.enumerated() { out.columns[k].append(v) }
                return
            }
            // With no condition, only the last row at or before hi is decoded (if it is before lo,
            // so are all the older blocks' rows: the loop ends).
            let window: RowWindow = plain ? .lastAtOrBefore(hi) : .times(from: lo, through: hi)
            _ = try snapshot.decode(t, symbol: id, block: i, columns: columnIndices, scaled: scaledColumns, window: window, into: context.decoded)
            let d = context.decoded
            if plain {
                // The window is the last row at or before hi: the answer unless it is before lo.
                let r = d.rows - 1
                if r >= d.first && d.times[r] >= lo {
                    for (k, v) in resultRow(d, r, name).enumerated() { out.columns[k].append(v) }
                    return
                }
                i -= 1
                continue
            }
            let rlo = d.first, rhi = d.rows
            if rlo < rhi {
                var batch = try filter(makeBatch(d, rlo, rhi, name, id: id, columns), leftPredicates)
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
}
