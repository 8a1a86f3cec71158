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
        let parts = predicates.isEmpty && join == nil ? rowParts() : nil
        let shares = try parallel(symbols) { (share) throws(StrataError) -> QueryResult in
            var out = QueryResult(names: allNames, types: types)
            let context = ScanContext()
            for (id, name) in share { try latestRow(t, id, name, context, parts: parts, into: &out) }
            return out
        }
        for p in shares { result.append(p) }
        return result
    }

    /// Where each value of a plain LATEST ON's row comes from.
    enum RowPart {
        case symbol, time, null
        /// A value column: its slot in the decoded block.
        case value(Int)
    }

    /// The parts of a row when every item is a column, or nil. Worked out once a query: the items
    /// are boxed expressions, and reading them for every symbol's row counted references.
    private func rowParts() -> [RowPart]? {
        var parts: [RowPart] = []
        for item in rowItems {
            guard let s = item.slot else { return nil }
            if s == layout.symbolSlot {
                parts.append(.symbol)
            } else if s == layout.timeSlot {
                parts.append(.time)
            } else if let k = valueColumns.firstIndex(where: { $0.slot == s }) {
                parts.append(.value(k))
            } else {
                parts.append(.null)
            }
        }
        return parts
    }

    /// Appends the last row of a block to `out` from its header, or returns false when a column
    /// needs decoding (text, or a column with nulls, whose `last` statistic is its last value, not
    /// its last row's).
    private func appendLastRowFromStats(
        _ t: Catalog.TableState, _ id: Int, _ name: String, block i: Int, _ parts: [RowPart], _ copy: BlockCopy,
        to out: inout QueryResult
    ) throws(StrataError) -> Bool {
        let header = try snapshot.statsHeader(t, symbol: id, block: i, copy: copy)
        var chunks: [Int?] = []
        for part in parts {
            guard case .value(let k) = part else { chunks.append(nil); continue }
            let c = chunk(header, t, slot: valueColumns[k].slot)
            if let c, header.typeByte(c) == ColumnType.string.rawValue || header.nullCount(c) > 0 { return false }
            chunks.append(c)
        }
        for (k, part) in parts.enumerated() {
            switch part {
            case .symbol: out.columns[k].append(.string(name))
            case .time: out.columns[k].append(.int(header.lastTime))
            case .null: out.columns[k].append(.null)
            case .value:
                guard let c = chunks[k] else { out.columns[k].append(.null); continue }
                let bits = header.stats(c).last
                out.columns[k].append(
                    header.typeByte(c) == ColumnType.int64.rawValue ? .int(bits) : .float(Double(bitPattern: UInt64(bitPattern: bits))))
            }
        }
        return true
    }

    /// Appends row `r` of a decoded block to `out`, value by value.
    private func appendRow(_ d: DecodedBlock, _ r: Int, _ name: String, _ parts: [RowPart], to out: inout QueryResult) {
        for (k, part) in parts.enumerated() {
            switch part {
            case .symbol: out.columns[k].append(.string(name))
            case .time: out.columns[k].append(.int(d.times[r]))
            case .null: out.columns[k].append(.null)
            case .value(let slot):
                switch d.value(slot, r) {
                case .null: out.columns[k].append(.null)
                case .int64(let x): out.columns[k].append(.int(x))
                case .float64(let x): out.columns[k].append(.float(x))
                case .string(let x): out.columns[k].append(.string(x))
                }
            }
        }
    }

    /// The latest row of symbol `id` in the time range, appended to `out`. `parts` is nil when
    /// the query has conditions or a join, or an item that is not a column.
    func latestRow(
        _ t: Catalog.TableState, _ id: Int, _ name: String, _ context: ScanContext, parts: [RowPart]?, into out: inout QueryResult
    ) throws(StrataError) {
        let blocks = t.symbols[id].blocks
        // The last block that starts at or before hi.
        var i = partitionPoint(in: 0..<blocks.count) { blocks[$0].firstTime > hi } - 1
        let columns = valueColumns
        while i >= 0 && blocks[i].lastTime >= lo {
            let ref = blocks[i]
            if let parts, ref.lastTime <= hi, try appendLastRowFromStats(t, id, name, block: i, parts, context.blockCopy, to: &out) {
                // The block's last row is the answer, taken from the statistics.
                return
            }
            // With no condition, only the last row at or before hi is decoded (if it is before lo,
            // so are all the older blocks' rows: the loop ends).
            let window: RowWindow = parts != nil ? .lastAtOrBefore(hi) : .times(from: lo, through: hi)
            _ = try snapshot.decode(t, symbol: id, block: i, columns: columnIndices, scaled: scaledColumns, window: window, into: context.decoded,
                copy: context.blockCopy)
            let d = context.decoded
            if let parts {
                // The window is the last row at or before hi: the answer unless it is before lo.
                let r = d.rows - 1
                if r >= d.first && d.times[r] >= lo {
                    appendRow(d, r, name, parts, to: &out)
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
