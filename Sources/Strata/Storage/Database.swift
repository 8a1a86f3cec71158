import Synchronization

/// How to open a database.
public struct DatabaseOptions: Sendable {
    /// Read-write (takes the writer lock) or read-only (takes no lock).
    public enum Mode: Sendable {
        /// No writer lock; sees other processes' commits at each snapshot.
        case readOnly
        /// The writer lock: this handle writes.
        case readWrite
    }

    /// `.readWrite` takes the writer lock for as long as the database is open.
    public var mode: Mode = .readWrite
    /// Create the directory and an empty database when missing (read-write only).
    public var create: Bool = true
    /// Rows a writer collects per symbol before it seals a block (1...`Limits.blockRowsMax`).
    public var blockRows: Int = Limits.blockRowsDefault
    /// Check each column chunk's checksum before decoding it.
    public var checkChecksums: Bool = true
    /// Background compaction of a read-write handle's small blocks (on by default; see `AutoCompaction`).
    public var autoCompaction = AutoCompaction()
    /// The same as `checkChecksums` (the older name).
    @available(*, deprecated, renamed: "checkChecksums")
    public var verifyChecksums: Bool {
        get { checkChecksums }
        set { checkChecksums = newValue }
    }

    /// Options: the mode, whether to create a missing database, rows per block, auto-compaction.
    public init(
        mode: Mode = .readWrite, create: Bool = true, blockRows: Int = Limits.blockRowsDefault,
        autoCompaction: AutoCompaction = AutoCompaction()
    ) {
        self.mode = mode
        self.create = create
        self.blockRows = blockRows
        self.autoCompaction = autoCompaction
    }

    /// A read-only handle of an existing database.
    public static let readOnly = DatabaseOptions(mode: .readOnly, create: false)
}

/// A Strata database: a directory of append-only data files and a manifest of commits.
///
/// Concurrency and durability:
/// - One writer at a time across processes (an exclusive `flock` on `LOCK`, held while open read-write).
///   A second writer gets a `.locked` error at once.
/// - `write` commits when its closure returns: the data is synced before the commit record, and the
///   record is synced before `write` returns. If the closure throws, nothing of it is kept.
/// - Readers (`snapshot`, `read`) see only committed data, and one consistent state for as long as they
///   hold the snapshot, also while the writer goes on. A read-only handle picks up other processes'
///   commits at each new snapshot.
public final class Database: Sendable {
    /// The database directory.
    public let path: String
    let options: DatabaseOptions
    let fs: any FileSystem
    let current: Lock<ReaderState>
    let writer: Lock<Writer?>
    /// The thread inside `write` or `compact` (0 when none): the writer mutex is not reentrant, so
    /// a nested call from that thread is refused instead of deadlocking.
    private let writingThread = Atomic<UInt>(0)
    /// Set by `close`; a `close` from inside `write` takes effect when the write ends.
    private let closed = Atomic<Bool>(false)
    /// Set by a `close` from inside `write` or `compact`: they release the handle's resources when they end.
    private let closeDeferred = Atomic<Bool>(false)
    /// The subscribers of `commits()`.
    let feed = CommitFeed()
    /// Whether a read-only handle's watcher of the directory runs (for `commits()`).
    let watching = Atomic<Bool>(false)
    /// The background compaction of a read-write handle (nil when off or read-only).
    let autoCompactor: AutoCompactor?

    struct ReaderState: Sendable {
        var snapshot: Snapshot
        var manifestOffset: UInt64
        /// A read-only handle keeps the manifest it replays open, so it can tell when a compaction
        /// replaced it (the name then refers to another file) and so that file's identity cannot be reused.
        var manifest: OpenFile?
    }

    var manifestPath: String { path + "/" + ManifestFormat.fileName }

    init(path: String, options: DatabaseOptions, fs: any FileSystem) throws(StrataError) {
        self.path = path
        self.options = options
        self.fs = fs
        if options.blockRows < 1 || options.blockRows > Limits.blockRowsMax {
            throw .badInput("blockRows must be within 1...\(Limits.blockRowsMax), not \(options.blockRows)")
        }
        let auto = options.autoCompaction
        if auto.isEnabled && !AutoCompaction.fanInRange.contains(auto.fanIn) {
            throw .badInput("autoCompaction.fanIn must be within \(AutoCompaction.fanInRange), not \(auto.fanIn)")
        }
        autoCompactor = auto.isEnabled && options.mode == .readWrite ? AutoCompactor(settings: auto) : nil
        var w: Writer? = nil
        let state: ReaderState
        if options.mode == .readWrite {
            w = try Writer.open(path: path, options: options, fs: fs)
            let (catalog, offset, _) = try Database.readManifest(fs: fs, handle: w!.manifest, path: path + "/" + ManifestFormat.fileName, from: 0, base: Catalog())
            let snapshot = Snapshot.make(catalog: catalog, previous: nil, directory: path, fs: fs, checkChecksums: options.checkChecksums)
            state = ReaderState(snapshot: snapshot, manifestOffset: offset, manifest: nil)
        } else {
            if !fs.exists(path) { throw .badInput("\(path) does not exist") }
            if !fs.isDirectory(path) { throw .badInput("\(path) is not a directory, so it cannot be a Strata database") }
            if !fs.exists(path + "/" + ManifestFormat.fileName) {
                throw .badInput("\(path) is not a Strata database (no \(ManifestFormat.fileName))")
            }
            state = try Database.load(fs: fs, directory: path, checkChecksums: options.checkChecksums, previous: nil).state
        }
        self.current = Lock(state)
        self.writer = Lock(w)
    }

    /// Reads the manifest from the start into a snapshot, for a read-only handle and for `verify` (which
    /// also wants the reason a torn tail was ignored). When a compaction in another process replaces the
    /// manifest and removes data files between our reading the manifest and mapping the files, reads again.
    static func load(
        fs: any FileSystem, directory: String, checkChecksums: Bool, previous: Snapshot?, observe: RecordObserver? = nil
    ) throws(StrataError) -> (state: ReaderState, torn: String?) {
        let manifestPath = directory + "/" + ManifestFormat.fileName
        var attempt = 0
        while true {
            let handle = try fs.open(manifestPath, create: false, writable: false)
            do throws(StrataError) {
                let (catalog, offset, torn) = try readManifest(
                    fs: fs, handle: handle, path: manifestPath, from: 0, base: Catalog(), observe: observe)
                let snapshot = Snapshot.make(catalog: catalog, previous: previous, directory: directory, fs: fs, checkChecksums: checkChecksums)
                attempt += 1
                let replaced = try fs.identity(atPath: manifestPath) != fs.identity(handle)
                if attempt < 10 && replaced && snapshot.lacksFiles(fs: fs) {
                    fs.close(handle)
                    continue
                }
                return (ReaderState(snapshot: snapshot, manifestOffset: offset, manifest: handle), torn)
            } catch {
                fs.close(handle)
                throw error
            }
        }
    }
    /// Opens (and with `.readWrite` and `create`, creates) the database in directory `path`.
    public static func open(_ path: String, options: DatabaseOptions = DatabaseOptions()) throws(StrataError) -> Database {
        startHelpers()  // while the manifest is read
        return try Database(path: path, options: options, fs: PosixFileSystem())
    }

    /// Releases the writer lock. Later calls on this handle throw a `.misuse` error; snapshots
    /// taken before stay readable. Called inside `write`, it takes effect when the write ends.
    public func close() {
        closed.store(true, ordering: .sequentiallyConsistent)
        if writingThread.load(ordering: .acquiring) == System.currentThread() {
            feed.finish()
            closeDeferred.store(true, ordering: .sequentiallyConsistent)
            return
        }
        stopAutoCompaction()  // first: a round that commits meanwhile still reaches the feed
        feed.finish()
        releaseResources()
    }

    private func releaseResources() {
        stopAutoCompaction()
        writer.withLock { w in
            w?.close()
            w = nil
        }
        current.withLock { state in
            if let m = state.manifest { fs.close(m) }
            state.manifest = nil
        }
    }

    var isClosed: Bool { closed.load(ordering: .sequentiallyConsistent) }

    func checkOpen(_ what: String) throws(StrataError) {
        if closed.load(ordering: .sequentiallyConsistent) {
            throw .misuse("\(what) on database \(path) after close(); open it again")
        }
    }

    /// Runs `body` holding the writer mutex with the writer, refusing a nested call from the thread
    /// that holds it (`what` names the call for the error).
    func withWriter<R>(_ what: String, _ body: (Writer) throws -> R) throws -> R {
        try checkOpen(what)
        let me = System.currentThread()
        if writingThread.load(ordering: .acquiring) == me {
            throw StrataError.misuse("\(what) was called inside db.write (or inside compact's progress callback) on the same database; a write transaction cannot nest: do the work in the enclosing transaction, or after it")
        }
        var result: R? = nil
        try writer.withLock { (w: inout Writer?) throws -> Void in
            guard let w else {
                try checkOpen(what)  // closed by another thread meanwhile
                throw StrataError.badInput("\(path) is open read-only; \(what) needs a read-write handle")
            }
            writingThread.store(me, ordering: .releasing)
            defer { writingThread.store(0, ordering: .releasing) }
            result = try body(w)
        }
        if closeDeferred.load(ordering: .sequentiallyConsistent) { releaseResources() }
        return result!
    }

    /// Stops the background compaction (waiting for a round in progress) and closes its files.
    private func stopAutoCompaction() {
        guard let c = autoCompactor else { return }
        c.stop()
        // Busy only when `close` came from inside `compact`'s progress callback: deinit closes them then.
        _ = c.rounds.withLockIfAvailable { r in
            for o in r.outputs.values { fs.close(o.handle) }
            r.outputs = [:]
        }
    }

    deinit {
        stopAutoCompaction()
        writer.withLock { $0?.close() }
        current.withLock { state in
            if let m = state.manifest { fs.close(m) }
        }
    }

    /// The latest committed state. Cheap: no I/O unless another process committed since the last call.
    public func snapshot() throws(StrataError) -> Snapshot {
        try checkOpen("snapshot()")
        if options.mode == .readOnly { try refresh() }
        return current.withLock { $0.snapshot }
    }

    /// Runs `body` on one consistent snapshot.
    public func read<R>(_ body: (Snapshot) throws -> R) throws -> R {
        try body(try snapshot())
    }

    /// Runs `body` in a write transaction and commits when it returns; if it throws, nothing is kept.
    /// The transaction is finished when `body` returns or throws: any later use of it throws a
    /// `.misuse` error and writes nothing. Calling `write` or `compact` inside `body` is refused too.
    public func write<R>(_ body: (Transaction) throws -> R) throws -> R {
        try withWriter("db.write") { w in
            let base = current.withLock { $0.snapshot.catalog }
            let tx = Transaction(writer: w, catalog: base, blockRows: options.blockRows)
            defer { tx.finish() }
            do {
                let result = try body(tx)
                let catalog = try tx.commit()
                publish(catalog, manifestOffset: w.manifestLength)
                if catalog.sequence != base.sequence && feed.hasSubscribers {
                    feed.publish([Commit(sequence: catalog.sequence, tables: Catalog.tables(touchedBy: tx.committedEntries, before: base, after: catalog))])
                }
                if let c = autoCompactor, catalog.sequence != base.sequence {
                    c.note(tx.committedEntries)
                    if c.settings.inBackground { c.wake(self) }
                }
                return result
            } catch {
                tx.rollback()
                throw error
            }
        }
    }

    /// Makes a committed catalog the current state. Files the commit stopped referring to (a dropped
    /// table's) are retired: removed from disk when the last snapshot that maps them goes.
    func publish(_ catalog: Catalog, manifestOffset: UInt64) {
        current.withLock { state in
            for (id, lease) in state.snapshot.leases where catalog.files[id] == nil { lease.retire() }
            state.snapshot = Snapshot.make(
                catalog: catalog, previous: state.snapshot, directory: path, fs: fs, checkChecksums: options.checkChecksums)
            state.manifestOffset = manifestOffset
        }
    }

    /// Applies records another process appended to the manifest since we last looked, or reads the
    /// manifest afresh when a compaction replaced it. With listeners, every record applied is a commit
    /// handed to the feed: on a replacement, first the rest of the old file, then the records of the new
    /// one numbered past what the old one held (a checkpoint keeping its number is not a commit).
    private func refresh() throws(StrataError) {
        let commits = try current.withLock { (state) throws(StrataError) -> [Commit] in
            guard let handle = state.manifest else { return [] }
            var commits: [Commit] = []
            var replaced = try fs.identity(atPath: manifestPath) != fs.identity(handle)
            let applied = try applyNewRecords(&state, from: handle, into: &commits)
            // A file named by the records just read is gone: a compaction replaced the manifest after
            // the check above, and then removed the file (never before). Read the new manifest.
            if !replaced && applied && state.snapshot.lacksFiles(fs: fs) {
                replaced = try fs.identity(atPath: manifestPath) != fs.identity(handle)
            }
            if replaced {
                let reached = state.snapshot.catalog.sequence
                var later: [Commit] = []
                let observe: RecordObserver? = feed.hasSubscribers ? { sequence, entries, old, new in
                    // A replay that starts again (the file was replaced once more) starts the list again.
                    if let last = later.last, sequence <= last.sequence { later.removeAll() }
                    guard sequence > reached else { return }
                    let tables = Catalog.tables(touchedBy: entries, before: old, after: new)
                    // Commits folded into this checkpoint before this handle read them (the file was
                    // replaced twice since it looked): each still arrives, with the checkpoint's tables.
                    var missing = (later.last?.sequence ?? reached) + 1
                    while missing < sequence {
                        later.append(Commit(sequence: missing, tables: tables))
                        missing += 1
                    }
                    later.append(Commit(sequence: sequence, tables: tables))
                } : nil
                let fresh = try Database.load(fs: fs, directory: path, checkChecksums: options.checkChecksums, previous: state.snapshot, observe: observe).state
                fs.close(handle)
                state = fresh
                commits += later
            }
            return commits
        }
        feed.publish(commits)
    }

    /// Applies the records appended to `handle` since the state's offset (collecting them as commits
    /// when the feed has listeners); false when there were none.
    private func applyNewRecords(_ state: inout ReaderState, from handle: OpenFile, into commits: inout [Commit]) throws(StrataError) -> Bool {
        if try fs.size(handle) <= state.manifestOffset { return false }
        var found: [Commit] = []
        let observe: RecordObserver? = feed.hasSubscribers
            ? { sequence, entries, old, new in found.append(Commit(sequence: sequence, tables: Catalog.tables(touchedBy: entries, before: old, after: new))) }
            : nil
        let (updated, newOffset, _) = try Database.readManifest(
            fs: fs, handle: handle, path: manifestPath, from: state.manifestOffset, base: state.snapshot.catalog, observe: observe)
        commits += found
        if newOffset == state.manifestOffset { return false }
        state.snapshot = Snapshot.make(
            catalog: updated, previous: state.snapshot, directory: path, fs: fs, checkChecksums: options.checkChecksums)
        state.manifestOffset = newOffset
        return true
    }

    /// Told each record a manifest replay applies: its sequence, entries, and the catalog before and after.
    typealias RecordObserver = (UInt64, [ManifestEntry], Catalog, Catalog) -> Void

    static func readManifest(fs: any FileSystem, path: String, from: UInt64, base: Catalog) throws(StrataError)
        -> (Catalog, UInt64, String?)
    {
        let handle = try fs.open(path, create: false, writable: false)
        defer { fs.close(handle) }
        return try readManifest(fs: fs, handle: handle, path: path, from: from, base: base)
    }

    /// Replays the manifest from `from` onto `base`. Returns the catalog, the offset after the last
    /// complete record, and the reason the tail was ignored (nil when the file ends on a record).
    static func readManifest(
        fs: any FileSystem, handle: OpenFile, path: String, from: UInt64, base: Catalog, observe: RecordObserver? = nil
    ) throws(StrataError) -> (Catalog, UInt64, String?) {
        let size = try fs.size(handle)
        if size < UInt64(ManifestFormat.fileHeaderBytes) {
            throw .damaged("\(path): manifest is \(size) bytes, shorter than its header")
        }
        var start = from
        var checkpointRecords = 0
        if from == 0 {
            var header = [UInt8](repeating: 0, count: ManifestFormat.fileHeaderBytes)
            _ = try header.withMutableBytes { (b) throws(StrataError) in try fs.read(handle, into: b, at: 0) }
            if Array(header[0..<8]) != ManifestFormat.fileMagic {
                throw .damaged("\(path): not a Strata manifest (bad magic)")
            }
            let (version, records) = try header.withBytes { (b) throws(StrataError) in
                var r = ByteReader(b, offset: 8, what: { path })
                return (try r.u32(), try r.u32())
            }
            if !ManifestFormat.versionsRead.contains(version) {
                throw .damaged("\(path): manifest version \(version) is not supported (this build reads versions \(ManifestFormat.versionsRead.lowerBound) to \(ManifestFormat.versionsRead.upperBound))")
            }
            start = UInt64(ManifestFormat.fileHeaderBytes)
            checkpointRecords = Int(records)
        }
        // A checkpoint is written whole and synced before it is renamed into place, so it cannot be
        // torn: a file that ends inside it was truncated or damaged, and dropping the rest would lose data.
        func checkpointCut(_ records: Int, at offset: UInt64) -> StrataError {
            .damaged("\(path): the file ends inside its checkpoint (after \(records) of \(checkpointRecords) records, at byte \(offset)): it was truncated or damaged")
        }
        if size <= start {
            if checkpointRecords > 0 { throw checkpointCut(0, at: start) }
            return (base, start, nil)
        }
        var bytes = [UInt8](repeating: 0, count: Int(size - start))
        let n = try bytes.withMutableBytes { (b) throws(StrataError) in try fs.read(handle, into: b, at: start) }
        bytes.removeLast(bytes.count - n)
        var catalog = base
        var offset = 0
        var torn: String? = nil
        var records = 0
        try bytes.withBytes { (all) throws(StrataError) in
            while offset < all.count {
                let fileOffset = Int(start) + offset
                let result = try ManifestCodec.readRecord(all, from: offset, fileOffset: fileOffset, path: path)
                switch result {
                case .tornTail(let reason):
                    if records < checkpointRecords { throw checkpointCut(records, at: UInt64(fileOffset)) }
                    torn = reason
                    return
                case .record(let sequence, let entries, let length):
                    // A compacted manifest starts with a checkpoint numbered on from its predecessor.
                    let first = fileOffset == ManifestFormat.fileHeaderBytes && catalog.sequence == 0
                    if sequence != catalog.sequence + 1 && !(first && sequence > 0) {
                        throw .damaged("\(path): commit record at offset \(fileOffset) has sequence \(sequence), expected \(catalog.sequence + 1)")
                    }
                    let before = observe == nil ? nil : catalog
                    try catalog.apply(entries, what: { "\(path), commit \(sequence) at offset \(fileOffset)" })
                    catalog.sequence = sequence
                    if let observe, let before { observe(sequence, entries, before, catalog) }
                    offset += length
                    records += 1
                }
            }
        }
        if records < checkpointRecords { throw checkpointCut(records, at: start + UInt64(offset)) }
        return (catalog, start + UInt64(offset), torn)
    }
}
