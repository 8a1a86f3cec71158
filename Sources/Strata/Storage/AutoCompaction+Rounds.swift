/// The rounds of auto-compaction (see `AutoCompaction`). A round:
/// 1. plans, holding the writer for microseconds: the merges due at the ends of the symbols commits
///    touched; every so often a look at the files (sealing half-dead ones, emptying sealed ones,
///    choosing empty ones to drop); and creates its output files;
/// 2. merges and copies blocks into its output files from a snapshot and syncs them, without the writer;
/// 3. commits, holding the writer for one commit record: each move whose blocks are still where
///    they were becomes a `replaceBlocks` entry (moves whose blocks a commit changed meanwhile are
///    left out, and tried again later from the new state);
/// 4. when the manifest's log has grown past its checkpoint, or empty files are worth dropping, folds
///    it: a checkpoint of a snapshot (numbered to end at the snapshot's sequence) is written and synced
///    without the writer; holding it, the records committed since are copied after it, synced, and the
///    file renamed over the manifest. The state and its sequence are unchanged; empty files are gone.
/// A failure before a commit point leaves the committed state as it was; what the round wrote past it
/// is discarded (and cut off by the next open if the process dies first).
extension Database {
    /// Runs auto-compaction rounds on this thread until one finds nothing to do; returns how many
    /// changed something. (Without a background thread, the only way they run: tests.)
    @discardableResult
    func runAutoCompaction() throws(StrataError) -> Int {
        guard let c = autoCompactor else { return 0 }
        var rounds = 0
        while try runAutoCompactionRound(c, wait: true) { rounds += 1 }
        return rounds
    }

    /// One round; false when it changed nothing (or, with `wait` false, `compact` was running).
    func runAutoCompactionRound(_ c: AutoCompactor, wait: Bool) throws(StrataError) -> Bool {
        if wait {
            return try c.rounds.withLock { (r: inout RoundState) throws(StrataError) -> Bool in try autoCompactionRound(c, &r) }
        }
        return try c.rounds.withLockIfAvailable { (r: inout RoundState) throws(StrataError) -> Bool in try autoCompactionRound(c, &r) } ?? false
    }

    private func autoCompactionRound(_ c: AutoCompactor, _ r: inout RoundState) throws(StrataError) -> Bool {
        guard var plan = try planRound(c, &r) else { return false }
        var changed = false
        if !plan.moves.isEmpty {
            do {
                try carryOut(&plan, c, &r)
                changed = try commitMoves(plan, c, &r)
            } catch {
                c.markDirty(plan.moves.map(\.key))
                discardUncommitted(&r)
                throw error
            }
            discardUncommitted(&r)
        }
        if plan.checkpoint, try foldManifest(plan, &r) { changed = true }
        return changed
    }

    /// `withWriter` for work that throws only `StrataError`.
    func underWriter<R>(_ what: String, _ body: (Writer) throws(StrataError) -> R) throws(StrataError) -> R {
        do {
            return try withWriter(what) { w in
                try checkOpen(what)  // closed while this waited for the writer: commit nothing more
                return try body(w)
            }
        } catch let error as StrataError {
            throw error
        } catch {
            throw StrataError(.io, "\(what) failed: \(error)")
        }
    }

    // MARK: Planning

    /// Holds the writer twice, each time for microseconds: to read the state and the files the writer
    /// may append to, and to seal files and give out ids for new output files. Everything that walks
    /// the blocks runs between, without it.
    private func planRound(_ c: AutoCompactor, _ r: inout RoundState) throws(StrataError) -> RoundPlan? {
        let (snapshot, offset, closed) = try underWriter("auto-compaction") { (w) throws(StrataError) in
            let (snapshot, offset) = current.withLock { ($0.snapshot, $0.manifestOffset) }
            return (snapshot, offset, w.closedForAppend)
        }
        let catalog = snapshot.catalog
        dropStaleOutputs(&r, catalog)
        var moves = mergeMoves(c.takeDirty(), catalog, fanIn: c.settings.fanIn)
        let log = offset - min(r.logStart, offset)
        let logDue = log >= c.settings.logBytes && log >= Self.checkpointEstimate(catalog)  // the estimate walks the symbols
        var fold = logDue
        var pass = FilePass()
        if logDue || offset >= r.manifestAtFilePass + max(c.settings.logBytes / 16, 1) {
            r.manifestAtFilePass = offset
            pass = filePass(catalog, closed: closed, c.settings, &r)
            moves += relocations(pass.relocate, catalog, besides: moves)
            fold = fold || pass.emptyBytes >= max(c.settings.fileBytes, pass.liveBytes / 32)
        }
        if moves.isEmpty && !fold && pass.close.isEmpty { return nil }
        let missing = missingOutputs(moves, &r)
        let ids = try underWriter("auto-compaction") { (w) throws(StrataError) -> [UInt32] in
            w.closedForAppend.formUnion(pass.close)
            let ids = missing.map { _ in w.newFileID(catalog) }
            w.closedForAppend.formUnion(ids)
            return ids
        }
        try createOutputs(zip(missing, ids), &r)
        return RoundPlan(snapshot: snapshot, manifestOffset: offset, moves: moves, checkpoint: fold, dropFiles: pass.empty)
    }

    /// About how many bytes a checkpoint of `catalog` takes.
    static func checkpointEstimate(_ catalog: Catalog) -> UInt64 {
        var bytes = 1_024
        for t in catalog.tables.values {
            bytes += 256 + 64 * t.schema.columns.count + 32 * t.files.count
            for s in t.symbols { bytes += 16 + s.name.utf8.count + 45 * s.blocks.count }
        }
        return UInt64(bytes)
    }

    /// Output files whose table or file is gone (a drop, or `compact` replaced them) are let go.
    private func dropStaleOutputs(_ r: inout RoundState, _ catalog: Catalog) {
        for (key, o) in r.outputs where catalog.tables[o.table] == nil || (o.committed != nil && catalog.files[o.id] == nil) {
            fs.close(o.handle)
            if o.committed == nil { try? fs.remove(path + "/" + Catalog.dataFileName(o.id)) }
            r.outputs[key] = nil
        }
    }

    /// The merges due at the ends of the symbols commits touched.
    private func mergeMoves(_ dirty: Set<SymbolKey>, _ catalog: Catalog, fanIn: Int) -> [BlockMove] {
        var moves: [BlockMove] = []
        for key in dirty.sorted(by: { ($0.table, $0.symbol) < ($1.table, $1.symbol) }) {
            guard let t = catalog.tables[key.table], Int(key.symbol) < t.symbols.count else { continue }
            let blocks = t.symbols[Int(key.symbol)].blocks
            if let run = MergePolicy.run(blocks, blockRows: options.blockRows, fanIn: fanIn) {
                moves.append(BlockMove(key: key, at: run.lowerBound, old: run.map { blocks[$0] }, merge: true))
            }
        }
        return moves
    }

    /// What a look at the files found: files no longer to append to, files to empty, empty files
    /// (and their bytes), live bytes in all.
    private struct FilePass {
        var close: Set<UInt32> = []
        var relocate: Set<UInt32> = []
        var empty: Set<UInt32> = []
        var emptyBytes: UInt64 = 0
        var liveBytes: UInt64 = 0
    }

    /// Seals the files being appended to (the writer's and the compactor's) once they are half dead
    /// and past `fileBytes`; chooses sealed files half live or less to empty; counts empty ones.
    /// `closed`: the files transactions do not append to.
    private func filePass(_ catalog: Catalog, closed: Set<UInt32>, _ settings: AutoCompaction, _ r: inout RoundState) -> FilePass {
        var live: [UInt32: UInt64] = [:]
        var pass = FilePass()
        for t in catalog.tables.values {
            for s in t.symbols { for b in s.blocks { live[b.file, default: 0] += UInt64(b.length) } }
        }
        let fileBytes = max(settings.fileBytes, live.values.reduce(0, +) / 64)
        let outputs = Dictionary(r.outputs.map { ($0.value.id, $0.key) }, uniquingKeysWith: { a, _ in a })
        for t in catalog.tables.values {
            let target = t.files.last.flatMap { closed.contains($0) ? nil : $0 }
            for f in t.files {
                guard let length = catalog.files[f]?.length else { continue }
                let used = length - min(length, UInt64(DataFileFormat.headerBytes))
                let l = min(live[f] ?? 0, used)
                pass.liveBytes += l
                if f == target || outputs[f] != nil {
                    if used >= fileBytes && (used - l) * 2 >= used {
                        pass.close.insert(f)
                        if let key = outputs[f] { fs.close(r.outputs.removeValue(forKey: key)!.handle) }
                    }
                    continue
                }
                if !closed.contains(f) { pass.close.insert(f) }
                if l == 0 {
                    pass.empty.insert(f)
                    pass.emptyBytes += length
                } else if used >= fileBytes && l * 2 <= used {
                    pass.relocate.insert(f)
                }
            }
        }
        return pass
    }

    /// Moves copying each live block of the files in `files` (except those a merge moves anyway).
    private func relocations(_ files: Set<UInt32>, _ catalog: Catalog, besides merges: [BlockMove]) -> [BlockMove] {
        if files.isEmpty { return [] }
        var merging: [SymbolKey: Range<Int>] = [:]
        for m in merges { merging[m.key] = m.at..<(m.at + m.old.count) }
        var moves: [BlockMove] = []
        for t in catalog.tables.values where t.files.contains(where: files.contains) {
            for (id, s) in t.symbols.enumerated() {
                let key = SymbolKey(table: t.id, symbol: UInt32(id))
                for (i, b) in s.blocks.enumerated() where files.contains(b.file) && !(merging[key]?.contains(i) ?? false) {
                    moves.append(BlockMove(key: key, at: i, old: [b], merge: false))
                }
            }
        }
        return moves
    }

    /// The output files the moves need that do not exist yet.
    private func missingOutputs(_ moves: [BlockMove], _ r: inout RoundState) -> [OutputKey] {
        var missing: [OutputKey] = []
        for m in moves {
            let rows = m.old.reduce(0) { $0 + Int($1.rows) }
            var kinds: [Bool] = []
            if rows >= options.blockRows { kinds.append(true) }
            if rows % options.blockRows != 0 && (m.merge || rows < options.blockRows) { kinds.append(false) }
            for full in kinds {
                let key = OutputKey(table: m.key.table, full: full)
                if r.outputs[key] == nil && !missing.contains(key) { missing.append(key) }
            }
        }
        return missing
    }

    /// Creates output files (their ids given out under the writer lock) with their headers.
    private func createOutputs(_ files: some Sequence<(OutputKey, UInt32)>, _ r: inout RoundState) throws(StrataError) {
        for (key, id) in files {
            let name = path + "/" + Catalog.dataFileName(id)
            let h = try fs.open(name, create: true, writable: true)
            do {
                try fs.truncate(h, to: 0)
                try DataFileFormat.header(fileID: id, tableID: key.table).withBytes { (b) throws(StrataError) in try fs.write(h, b, at: 0) }
            } catch {
                fs.close(h)
                try? fs.remove(name)
                throw error
            }
            r.outputs[key] = MergeOutput(id: id, table: key.table, handle: h, committed: nil, length: UInt64(DataFileFormat.headerBytes))
        }
    }
}
