/// Step 4 of an auto-compaction round (see AutoCompaction+Rounds.swift): folding the manifest.
extension Database {
    /// Replaces the manifest by a checkpoint of a snapshot (without the empty files the plan chose to
    /// drop) followed by the records committed since. False when it cannot: the sequence is smaller
    /// than the checkpoint's records, or a commit touched a file to drop meanwhile.
    func foldManifest(_ plan: RoundPlan, _ r: inout RoundState) throws(StrataError) -> Bool {
        let (snapshot, offset) = current.withLock { ($0.snapshot, $0.manifestOffset) }
        // Empty in the plan's snapshot, and closed to appends since: still empty while their length
        // is the plan's (checked again under the lock below).
        let planned = plan.snapshot.catalog.files
        let drop = plan.dropFiles.filter { snapshot.catalog.files[$0] != nil && snapshot.catalog.files[$0]?.length == planned[$0]?.length }
        guard let records = ManifestCodec.checkpoint(endingAtSequenceOf: Self.removing(drop, from: snapshot.catalog)) else {
            r.logStart = offset  // too young a database to fold; look again after as much log as this
            return false
        }
        let newPath = manifestPath + ".new"
        let next = try fs.open(newPath, create: true, writable: true)
        var length: UInt64 = 0
        var adopted = false
        do throws(StrataError) {
            try fs.truncate(next, to: 0)
            for bytes in [ManifestCodec.fileHeader(checkpointRecords: records.count)] + records {
                try bytes.withBytes { (b) throws(StrataError) in try fs.write(next, b, at: length) }
                length += UInt64(bytes.count)
            }
            try fs.sync(next)
            let outcome = try underWriter("auto-compaction") { (w) throws(StrataError) -> (done: Bool, late: StrataError?) in
                let now = current.withLock { $0.snapshot.catalog }
                let unchanged = drop.allSatisfy { now.files[$0]?.length == planned[$0]?.length }
                guard unchanged, w.manifestLength >= offset else { return (false, nil) }
                try appendTail(of: w, from: offset, to: next, at: &length)
                try fs.rename(newPath, to: manifestPath)
                w.adoptManifest(next, length: length)
                adopted = true
                var late: StrataError? = nil
                do throws(StrataError) { try fs.syncDirectory(path) } catch { late = error }
                // After a failed directory sync a power cut could bring back the old manifest: keep its files.
                if late == nil { for id in drop { w.forget(id) } }
                publish(late == nil ? Self.removing(drop, from: now) : now, manifestOffset: w.manifestLength)
                r.logStart = w.manifestLength
                r.manifestAtFilePass = min(r.manifestAtFilePass, w.manifestLength)
                return (true, late.map { StrataError(.io, "the manifest was folded, but syncing the directory failed (\($0.message))") })
            }
            if !outcome.done {
                fs.close(next)
                try? fs.remove(newPath)
            }
            if let late = outcome.late { throw late }
            return outcome.done
        } catch {
            if !adopted {
                fs.close(next)
                try? fs.remove(newPath)
            }
            throw error
        }
    }

    /// Copies the manifest's records from `offset` on (those committed after the snapshot the
    /// checkpoint holds) after the checkpoint in `file`, and syncs it.
    private func appendTail(of w: Writer, from offset: UInt64, to file: OpenFile, at length: inout UInt64) throws(StrataError) {
        let count = Int(w.manifestLength - offset)
        if count == 0 { return }
        var tail = [UInt8](repeating: 0, count: count)
        let n = try tail.withMutableBytes { (b) throws(StrataError) in try fs.read(w.manifest, into: b, at: offset) }
        if n != count { throw StrataError(.io, "\(manifestPath): read \(n) of the \(count) bytes of its last records") }
        try tail.withBytes { (b) throws(StrataError) in try fs.write(file, b, at: length) }
        length += UInt64(count)
        try fs.sync(file)
    }

    /// `catalog` without the files `ids` (the id floor keeps their ids from being given again).
    static func removing(_ ids: Set<UInt32>, from catalog: Catalog) -> Catalog {
        var c = catalog
        for id in ids {
            guard let f = c.files.removeValue(forKey: id) else { continue }
            c.tables[f.table]?.files.removeAll { $0 == id }
        }
        return c
    }
}
