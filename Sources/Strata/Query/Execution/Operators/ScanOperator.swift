// The scan: one table's blocks by symbol and time range, answered from block statistics where the
// plan allows, decoded into batches otherwise, filtered by value conditions; and the scan of a
// materialised subquery.

/// Per-worker scratch: the decoded block and the joined table's rows of the current symbol.
final class ScanContext {
    /// Lent by `DecodedBlock.pool` for the query's life: a short query starts with a block's
    /// columns allocated (zero-filling them anew was a quarter of a one-day scan).
    let decoded = DecodedBlock.pool.take()
    /// Where blocks read the first time are copied (`Snapshot.statsHeader`, `Snapshot.decode`).
    lazy var blockCopy = BlockCopy()
    /// EXPLAIN: count what the scan would do with each block instead of decoding it.
    var dryRun = false
    var blocksSkipped = 0, blocksFromStats = 0, blocksDecoded = 0
    var rightSymbol: String?
    var rightTimes: [Int64] = []
    var rightColumns: [Vec] = []

    deinit { DecodedBlock.pool.give(decoded) }
}

extension Plan {
    /// Feeds every batch of the source to `body` (in symbol, then time order for tables) until it returns false.
    func scanAll(_ body: (Batch) throws(StrataError) -> Bool) throws(StrataError) {
        let context = ScanContext()
        if let t = table {
            for (id, name) in tableSymbols(t) {
                if try !scanSymbol(t, id, name, context, stats: { (_, _, _) throws(StrataError) in false }, body) { return }
            }
        } else {
            var going = true
            try relationBatches(context) { (b) throws(StrataError) in
                if going { going = try body(b) }
            }
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
                let h = try snapshot.header(t, symbol: id, block: index)
                header = h
                var all = true
                var none = false
                for p in leftPredicates {
                    let v = try verdict(p, h, t, symbol: id, block: index)
                    if v == .none { none = true }
                    if v != .all { all = false }
                }
                if none {
                    context.blocksSkipped += 1
                    continue
                }
                predicatesHold = all
            }
            let whole = ref.firstTime >= lo && ref.lastTime <= hi
            if whole && predicatesHold, try stats(ref, index, header) {
                context.blocksFromStats += 1
                continue
            }
            context.blocksDecoded += 1
            if context.dryRun { continue }
            _ = try snapshot.decode(
                t, symbol: id, block: index, columns: columnIndices, scaled: scaledColumns, window: .times(from: lo, through: hi),
                into: context.decoded, copy: header == nil ? context.blockCopy : nil)  // a header read for the conditions mapped its page
            let d = context.decoded
            let rlo = d.first, rhi = d.rows  // the window's rows
            if rlo >= rhi { continue }
            var batch = makeBatch(d, rlo, rhi, name, id: id, columns)
            batch = try prepare(batch, context, leftDone: predicatesHold)
            if batch.count > 0, try !body(batch) { return false }
        }
        return true
    }

    /// The chunk of a block that holds the value column at `slot` (nil: it is null in every row).
    @inline(__always)
    func chunk(_ h: BlockHeader, _ t: Catalog.TableState, slot: Int) -> Int? {
        h.chunkIndex(columnID: t.schema.columns[slot - 2].id, hint: slot - 1)
    }

    /// What a block's header (and a text column's dictionary) says about a predicate.
    private func verdict(_ p: Predicate, _ h: BlockHeader, _ t: Catalog.TableState, symbol id: Int, block index: Int) throws(StrataError) -> Predicate.Verdict {
        guard let slot = p.expr.slot, slot != layout.symbolSlot, slot != layout.timeSlot else { return .some }
        let c = chunk(h, t, slot: slot)
        return try p.verdict(h, chunk: c) { () throws(StrataError) in
            try snapshot.dictionary(h, chunk: c!, what: snapshot.blockContext(t, symbol: id, block: index, t.symbols[id].blocks[index]))
        }
    }

    func makeBatch(_ d: DecodedBlock, _ rlo: Int, _ rhi: Int, _ symbol: String, id: Int, _ columns: [(slot: Int, column: Int)]) -> Batch {
        var vecs = [Vec?](repeating: nil, count: layout.slotTypes.count)
        vecs[layout.symbolSlot!] = Vec(.string(symbol))
        vecs[layout.timeSlot!] = Vec(.ints(d.times[rlo..<rhi]))
        for (k, c) in columns.enumerated() {
            let valid: ArraySlice<Bool>? = d.nulls[k].isEmpty ? nil : ArraySlice(d.nulls[k][rlo..<rhi].map { !$0 })
            if let scale = d.scales[k] {
                vecs[c.slot] = Vec(.decimals(d.ints[k][rlo..<rhi], scale), valid: valid)
            } else {
                switch d.types[k] {
                case .int64: vecs[c.slot] = Vec(.ints(d.ints[k][rlo..<rhi]), valid: valid)
                case .float64: vecs[c.slot] = Vec(.floats(d.floats[k][rlo..<rhi]), valid: valid)
                case .string: vecs[c.slot] = Vec(.strings(d.strings[k][rlo..<rhi]), valid: valid)
                }
            }
        }
        return Batch(count: rhi - rlo, symbol: symbol, columns: vecs, sorted: true, symbolID: Int32(id))
    }

    /// Applies the left conditions (unless statistics showed they hold), the join, then the conditions
    /// on the joined table.
    func prepare(_ b: Batch, _ context: ScanContext, leftDone: Bool) throws(StrataError) -> Batch {
        var batch = b
        if !leftDone { batch = try filter(batch, leftPredicates) }
        if let join, batch.count > 0 {
            batch = try attach(join, batch, context)
            batch = try filter(batch, rightPredicates)
        }
        return batch
    }

    func filter(_ b: Batch, _ predicates: [Predicate]) throws(StrataError) -> Batch {
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

    /// The subquery's rows in batches as it gives them, restricted to the symbols and time range of
    /// the conditions, with the join and filters applied.
    func relationBatches(_ context: ScanContext, _ body: (Batch) throws(StrataError) -> Void) throws(StrataError) {
        try relation!.plan.execute(batchRows: 65_536) { (r) throws(StrataError) in
            try body(try relationBatch(r, context))
        }
    }

    /// Every row of the subquery in one batch (LATEST ON needs them together).
    func relationBatch(_ context: ScanContext) throws(StrataError) -> Batch {
        var all: QueryResult? = nil
        try relation!.plan.execute(batchRows: .max) { (r) throws(StrataError) in
            if all == nil { all = r } else { all!.append(r) }
        }
        return try relationBatch(all!, context)
    }

    private func relationBatch(_ r: QueryResult, _ context: ScanContext) throws(StrataError) -> Batch {
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
}
