/// Steps 2 to 4 of an auto-compaction round (see AutoCompaction+Rounds.swift).
extension Database {
    // MARK: Writing, without the writer

    /// Merges or copies the blocks of every move into the output files and syncs them.
    func carryOut(_ plan: inout RoundPlan, _ c: AutoCompactor, _ r: inout RoundState) throws(StrataError) {
        let snapshot = plan.snapshot.checkingChecksums(true)
        var encoder = BlockEncoder()
        let decoded = DecodedBlock()
        for i in plan.moves.indices {
            if c.isStopping { throw .misuse("the database was closed while auto-compaction ran") }
            let m = plan.moves[i]
            guard let t = snapshot.catalog.tables[m.key.table] else {
                plan.moves[i].valid = false
                continue
            }
            if m.merge {
                plan.moves[i].new = try mergeBlocks(m, t, snapshot, decoded, &encoder, &r)
            } else {
                let bytes = try snapshot.checkedBlockBytes(t, symbol: Int(m.key.symbol), block: m.at)
                let full = Int(m.old[0].rows) >= options.blockRows
                plan.moves[i].new = [try appendToOutput(bytes, m.old[0], table: t.id, full: full, &r)]
            }
        }
        var created = false
        for o in r.outputs.values where o.touched {
            try fs.sync(o.handle)
            if o.committed == nil { created = true }
        }
        if created { try fs.syncDirectory(path) }
    }

    /// The blocks of a merge move, decoded and encoded again in blocks of `blockRows` rows (and one
    /// smaller one for what is left).
    private func mergeBlocks(
        _ m: BlockMove, _ t: Catalog.TableState, _ snapshot: Snapshot, _ decoded: DecodedBlock, _ encoder: inout BlockEncoder,
        _ r: inout RoundState
    ) throws(StrataError) -> [BlockRef] {
        var pending = PendingRows(columns: t.schema.columns.map { ColumnBuffer(type: $0.type) })
        let columns = Array(t.schema.columns.indices)
        for k in m.old.indices {
            _ = try snapshot.decode(t, symbol: Int(m.key.symbol), block: m.at + k, columns: columns, into: decoded)
            pending.append(decoded)
        }
        var refs: [BlockRef] = []
        while !pending.times.isEmpty {
            let rows = min(options.blockRows, pending.times.count)
            let (times, values) = pending.removeFirst(rows)
            let bytes = encoder.encode(
                tableID: t.id, symbolID: m.key.symbol, times: times, columns: values, ids: t.schema.columns.map(\.id),
                types: t.schema.columns.map(\.type))
            let shape = BlockRef(file: 0, offset: 0, length: 0, rows: UInt32(rows), firstTime: times[0], lastTime: times[rows - 1])
            refs.append(try appendToOutput(bytes, shape, table: t.id, full: rows >= options.blockRows, &r))
        }
        return refs
    }

    /// Writes a block past the end of an output file; returns where it is (`shape` gives its rows and times).
    private func appendToOutput(
        _ bytes: [UInt8], _ shape: BlockRef, table: UInt32, full: Bool, _ r: inout RoundState
    ) throws(StrataError) -> BlockRef {
        guard var o = r.outputs[OutputKey(table: table, full: full)] else {
            throw .misuse("auto-compaction: no output file prepared")  // prepareOutputs makes every one a move needs
        }
        try bytes.withBytes { (raw) throws(StrataError) in try fs.write(o.handle, raw, at: o.length) }
        var ref = shape
        ref.file = o.id
        ref.offset = o.length
        ref.length = UInt32(bytes.count)
        o.length += UInt64(bytes.count)
        o.touched = true
        r.outputs[OutputKey(table: o.table, full: full)] = o
        return ref
    }

    // MARK: Committing, holding the writer for one record

    /// Commits the moves whose blocks are still where the plan found them; false when none are.
    func commitMoves(_ plan: RoundPlan, _ c: AutoCompactor, _ r: inout RoundState) throws(StrataError) -> Bool {
        try underWriter("auto-compaction") { (w) throws(StrataError) -> Bool in
            let catalog = current.withLock { $0.snapshot.catalog }
            var entries: [ManifestEntry] = []
            var used: Set<UInt32> = []
            // Within a symbol, from the last move to the first: each move's position stays as planned.
            let order = plan.moves.indices.filter { plan.moves[$0].valid }.sorted {
                let a = plan.moves[$0], b = plan.moves[$1]
                return (a.key.table, a.key.symbol, b.at) < (b.key.table, b.key.symbol, a.at)
            }
            for i in order {
                let m = plan.moves[i]
                guard Self.stillThere(m, in: catalog, plannedFrom: plan.snapshot.catalog) else {
                    c.markDirty([m.key])
                    continue
                }
                entries.append(.replaceBlocks(table: m.key.table, symbol: m.key.symbol, at: UInt32(m.at), removing: UInt32(m.old.count), refs: m.new))
                used.formUnion(m.new.map(\.file))
                if m.merge { c.markDirty([m.key]) }  // the merged block may complete a larger merge
            }
            if entries.isEmpty { return false }
            let outputs = r.outputs.values.filter { used.contains($0.id) }.sorted { $0.id < $1.id }
            entries = outputs.filter { $0.committed == nil }.map { .addFile(id: $0.id, table: $0.table) } + entries
                + outputs.map { .fileLength(file: $0.id, length: $0.length) }
            var next = catalog
            try next.apply(entries, what: { "auto-compaction" })
            next.sequence += 1
            try w.appendRecord(sequence: next.sequence, entries: entries)
            for (key, o) in r.outputs where used.contains(o.id) { r.outputs[key]!.committed = o.length }
            publish(next, manifestOffset: w.manifestLength)
            if feed.hasSubscribers {
                feed.publish([Commit(sequence: next.sequence, tables: Catalog.tables(touchedBy: entries, before: catalog, after: next))])
            }
            return true
        }
    }

    /// Whether a move's blocks are still at its position, in a table whose columns did not change.
    private static func stillThere(_ m: BlockMove, in catalog: Catalog, plannedFrom planned: Catalog) -> Bool {
        guard let t = catalog.tables[m.key.table], let p = planned.tables[m.key.table], t.schema.columns == p.schema.columns,
            Int(m.key.symbol) < t.symbols.count
        else { return false }
        let blocks = t.symbols[Int(m.key.symbol)].blocks
        guard m.at + m.old.count <= blocks.count else { return false }
        return m.old.indices.allSatisfy { blocks[m.at + $0] == m.old[$0] }
    }

    /// Forgets what the round wrote past the committed length of its output files; an output file no
    /// commit added is removed.
    func discardUncommitted(_ r: inout RoundState) {
        for (key, o) in r.outputs where o.touched || o.committed == nil {
            if let committed = o.committed {
                r.outputs[key]!.length = committed
                r.outputs[key]!.touched = false
            } else {
                fs.close(o.handle)
                try? fs.remove(path + "/" + Catalog.dataFileName(o.id))
                r.outputs[key] = nil
            }
        }
    }
}
