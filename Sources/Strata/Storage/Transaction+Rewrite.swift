// The writes that rewrite history: merging rows into the blocks they overlap, deleting rows, and
// dropping tables. Each replaces a stretch of a symbol's block index in the transaction's catalog
// (one manifest entry); the blocks it replaced stay in their files, unreferenced, until compaction.

extension Transaction {
    // MARK: Deletes and drops

    /// Deletes the rows of `table` with times in [`from`, `to`) (to the last row when `to` is nil)
    /// of `symbols` (every symbol when nil), including rows appended earlier in this transaction.
    /// Returns how many rows it deleted. Only the blocks at the ends of the range are rewritten;
    /// blocks wholly inside it are dropped from the index.
    @discardableResult
    public func delete(from table: String, symbols: [String]? = nil, from: Int64 = .min, to: Int64? = nil) throws(StrataError) -> Int {
        try checkLive("delete(from:symbols:from:to:)")
        let t = try tableBuffers(table)
        if let to, to == .min { return 0 }
        let last = to.map { $0 - 1 } ?? .max
        if from > last { return 0 }
        let state = catalog.tables[t.id]!
        var ids: [Int] = []
        if let symbols {
            for id in Set(symbols.compactMap { state.symbolID($0) }) { ids.append(Int(id)) }
        } else {
            ids = Array(state.symbols.indices)
        }
        for id in ids where id < t.symbols.count {
            guard let b = t.symbols[id] else { continue }
            if b.times.isEmpty {
                b.placement = nil  // the index is about to change under its gap
                b.lastTime = nil
            } else {
                try flush(t, b)
            }
        }
        try finishMerges()
        var deleted = 0
        for id in ids.sorted() { deleted += try deleteRows(t, symbol: id, from: from, through: last) }
        return deleted
    }

    /// Drops a table: its rows, symbols and files (the files are removed from disk once no snapshot reads them).
    public func dropTable(_ name: String) throws(StrataError) {
        try checkLive("dropTable")
        guard let id = catalog.tableID(name) else { throw .badInput("no table named \(name)") }
        try finishMerges()
        if let t = tables.removeValue(forKey: id) {
            for case let b? in t.symbols { bufferedRows -= b.times.count }
        }
        try record(.dropTable(table: id))
    }

    private func deleteRows(_ t: TableBuffers, symbol id: Int, from: Int64, through last: Int64) throws(StrataError) -> Int {
        let blocks = catalog.tables[t.id]!.symbols[id].blocks
        let i = partitionPoint(in: 0..<blocks.count) { blocks[$0].lastTime >= from }
        let j = partitionPoint(in: i..<blocks.count) { blocks[$0].firstTime > last }
        var refs: [BlockRef] = []
        var deleted = 0
        let decoded = DecodedBlock()
        for k in i..<j {
            let ref = blocks[k]
            if ref.firstTime >= from && ref.lastTime <= last {
                deleted += Int(ref.rows)
                continue
            }
            try readBlock(t, symbol: id, ref, into: decoded)
            var out = RowCollector(t.types)
            for r in 0..<decoded.rows where decoded.times[r] < from || decoded.times[r] > last { out.add(decoded, r) }
            if out.times.count == decoded.rows {
                refs.append(ref)
                continue
            }
            deleted += decoded.rows - out.times.count
            if !out.times.isEmpty { refs.append(try writeRows(t, symbol: id, out)) }
        }
        if deleted > 0 {
            try record(.replaceBlocks(table: t.id, symbol: UInt32(id), at: UInt32(i), removing: UInt32(j - i), refs: refs))
        }
        return deleted
    }

    // MARK: Merging

    /// Merges a symbol's buffered rows (in any order) with the blocks they overlap, in one pass that
    /// holds one decoded block at a time: rows come out in time order, rows with equal times in the
    /// order written (the blocks' first), and in a table with a key the last row written for a time
    /// replaces every other. The new blocks replace the overlapped ones in the index.
    func merge(_ t: TableBuffers, _ b: SymbolBuffer) throws(StrataError) {
        try write(writer.sealer.finishAll())
        let n = b.times.count
        defer {
            bufferedRows -= n
            b.times = []
            b.columns = t.emptyColumns
        }
        if n == 0 { return }
        let order = sortedRows(b.times, keepLastOfEqualTimes: t.schema.dedup)
        let lo = b.times[order.first!], hi = b.times[order.last!]
        let id = Int(b.id)
        let blocks = catalog.tables[t.id]!.symbols[id].blocks
        let i = t.schema.dedup
            ? partitionPoint(in: 0..<blocks.count) { blocks[$0].lastTime >= lo }
            : partitionPoint(in: 0..<blocks.count) { blocks[$0].lastTime > lo }
        let j = partitionPoint(in: i..<blocks.count) { blocks[$0].firstTime > hi }
        // The merged blocks are encoded by the sealer while this goes on; `finishMerges` records them.
        let mergeID = nextMergeID
        nextMergeID += 1
        pendingMerges.append((t.id, b.id, i, j - i, mergeID))
        var out = RowCollector(t.types)
        func emit(_ out: inout RowCollector) throws(StrataError) {
            writer.sealer.submit(BlockSealer.Job(
                table: t.id, symbol: b.id, destination: .merge(id: mergeID), times: out.times, columns: out.columns, ids: t.ids,
                types: t.types))
            out = RowCollector(t.types)
            try write(writer.sealer.takeFinished())
        }
        if i == j {  // no block overlapped: the sorted rows, gathered column by column
            var start = 0
            while start < order.count {
                let rows = order[start..<min(start + blockRows, order.count)]
                out.times = rows.map { b.times[$0] }
                for c in out.columns.indices { out.columns[c] = b.columns[c].gather(rows) }
                try emit(&out)
                start += rows.count
            }
            return
        }
        var k = 0
        let decoded = DecodedBlock()
        for index in i..<j {
            try readBlock(t, symbol: id, blocks[index], into: decoded)
            for r in 0..<decoded.rows {
                let time = decoded.times[r]
                while k < order.count && b.times[order[k]] < time {
                    out.add(b, order[k])
                    k += 1
                    if out.times.count == blockRows { try emit(&out) }
                }
                if t.schema.dedup && k < order.count && b.times[order[k]] == time { continue }  // replaced
                out.add(decoded, r)
                if out.times.count == blockRows { try emit(&out) }
            }
        }
        while k < order.count {
            out.add(b, order[k])
            k += 1
            if out.times.count == blockRows { try emit(&out) }
        }
        if !out.times.isEmpty { try emit(&out) }
    }

    /// Waits for the blocks of pending merges and records each merge as one replacement.
    func finishMerges() throws(StrataError) {
        try write(writer.sealer.finishAll())
        let merges = pendingMerges
        pendingMerges = []
        for m in merges {
            let refs = mergeOutputs.removeValue(forKey: m.id) ?? []
            try record(.replaceBlocks(table: m.table, symbol: m.symbol, at: UInt32(m.at), removing: UInt32(m.removing), refs: refs))
        }
    }

    /// Row numbers of `times` in time order, equal times in the order written; with
    /// `keepLastOfEqualTimes`, only the last written of each time.
    private func sortedRows(_ times: [Int64], keepLastOfEqualTimes: Bool) -> [Int] {
        var order = Array(times.indices)
        if times.indices.dropFirst().contains(where: { times[$0] < times[$0 - 1] }) {
            // (time, row) pairs are distinct, so any sort of them is stable in time.
            var pairs = times.indices.map { (times[$0], $0) }
            pairs.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            order = pairs.map(\.1)
        }
        if keepLastOfEqualTimes {
            order = order.indices.filter { $0 == order.count - 1 || times[order[$0]] != times[order[$0 + 1]] }.map { order[$0] }
        }
        return order
    }

    /// Encodes collected rows as one block of the symbol and writes it.
    private func writeRows(_ t: TableBuffers, symbol id: Int, _ rows: RowCollector) throws(StrataError) -> BlockRef {
        let bytes = encoder.encode(tableID: t.id, symbolID: UInt32(id), times: rows.times, columns: rows.columns, ids: t.ids, types: t.types)
        return try writeBlock(bytes, table: t.id, times: rows.times)
    }

    /// Reads and decodes a block of the transaction's catalog (committed, or written by this
    /// transaction), checking its header against the reference and every chunk's checksum.
    private func readBlock(_ t: TableBuffers, symbol id: Int, _ ref: BlockRef, into out: DecodedBlock) throws(StrataError) {
        let what = { "\(self.writer.directory)/\(Catalog.dataFileName(ref.file)), table \(t.name), symbol id \(id), block at offset \(ref.offset)" }
        var bytes = [UInt8](repeating: 0, count: Int(ref.length))
        let h = try writer.handle(for: ref.file, create: false)
        let n = try bytes.withMutableBytes { (b) throws(StrataError) in try writer.fs.read(h, into: b, at: ref.offset) }
        if n != bytes.count { throw .damaged("\(what()): the file ends inside the block") }
        // The header reads the copy in place: it is used only while the copy is lent.
        let copy = MappedRegion.copying(bytes)
        try copy.withBytes { (_) throws(StrataError) in try decode(copy, t, symbol: id, ref, into: out, what: what) }
    }

    private func decode(
        _ copy: MappedRegion, _ t: TableBuffers, symbol id: Int, _ ref: BlockRef, into out: DecodedBlock, what: () -> String
    ) throws(StrataError) {
        let header: BlockHeader
        do {
            header = try BlockHeader.parse(copy, at: 0, schema: t.schema)
        } catch {
            throw .damaged("\(what()): \(error.message)")
        }
        if header.rows != Int(ref.rows) || header.firstTime != ref.firstTime || header.lastTime != ref.lastTime
            || header.tableID != t.id || header.symbolID != UInt32(id)
        {
            throw .damaged("\(what()): the block header does not match the manifest")
        }
        try Snapshot.decodeChunks(header, t.schema, columns: Array(t.types.indices), checkChecksums: true, into: out, what: what)
    }
}

/// Rows gathered for one new block: times and value columns.
struct RowCollector {
    var times: [Int64] = []
    var columns: [ColumnBuffer]

    init(_ types: [ColumnType]) { columns = types.map(ColumnBuffer.init(type:)) }

    /// Row `r` of a decoded block (all its columns decoded, in schema order, descaled).
    mutating func add(_ d: DecodedBlock, _ r: Int) {
        times.append(d.times[r])
        for c in columns.indices {
            if d.isNull(c, r) {
                columns[c].appendNull()
                continue
            }
            switch d.types[c] {
            case .int64: columns[c].append(d.ints[c][r])
            case .float64: columns[c].append(Int64(bitPattern: d.floats[c][r].bitPattern))
            case .string: columns[c].append(string: d.strings[c][r])
            }
        }
    }

    /// Row `r` of a symbol's buffer.
    mutating func add(_ b: SymbolBuffer, _ r: Int) {
        times.append(b.times[r])
        for c in columns.indices { columns[c].append(from: b.columns[c], row: r) }
    }
}
