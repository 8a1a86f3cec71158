import Dispatch
import Synchronization

/// One commit of a database: its sequence number (as `Snapshot.sequence`) and the tables it changed.
/// A compaction is a commit too (its tables are those it rewrote).
public struct Commit: Sendable, Equatable, CustomStringConvertible {
    /// The commit's number: `Snapshot.sequence` of the state it made.
    public let sequence: UInt64
    /// The tables it changed, by name, sorted by their bytes.
    public let tables: [String]

    /// A commit numbered `sequence` that changed `tables`.
    public init(sequence: UInt64, tables: [String]) {
        self.sequence = sequence
        self.tables = tables
    }

    /// For example `commit 12 (bars, fund_shares)`.
    public var description: String { "commit \(sequence) (\(tables.joined(separator: ", ")))" }
}

/// The subscribers of `Database.commits()`, and the commits handed to them.
///
/// Each subscriber's stream buffers without bound: the writer never waits for a consumer, and a slow
/// consumer still sees every commit, in order (a commit is a few dozen bytes; the backlog is what it
/// has not read yet). A subscriber sees the commits after its `subscribe`; `finish` ends every stream
/// (the database closed).
final class CommitFeed: Sendable {
    private struct Subscriber {
        var after: UInt64
        var continuation: AsyncThrowingStream<Commit, any Error>.Continuation
    }

    private struct State {
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
        var finished = false
    }

    private let state = Lock(State())

    var hasSubscribers: Bool { state.withLock { !$0.subscribers.isEmpty } }

    /// A stream of the commits numbered above `sequence`.
    func subscribe(after sequence: UInt64) -> AsyncThrowingStream<Commit, any Error> {
        let (stream, continuation) = AsyncThrowingStream<Commit, any Error>.makeStream(bufferingPolicy: .unbounded)
        let id: Int? = state.withLock { s in
            if s.finished { return nil }
            s.nextID += 1
            s.subscribers[s.nextID] = Subscriber(after: sequence, continuation: continuation)
            return s.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Hands `commits` (in sequence order) to every subscriber that has not seen them.
    func publish(_ commits: [Commit]) {
        if commits.isEmpty { return }
        state.withLock { s in
            for (id, var sub) in s.subscribers {
                for c in commits where c.sequence > sub.after {
                    sub.continuation.yield(c)
                    sub.after = c.sequence
                }
                s.subscribers[id] = sub
            }
        }
    }

    /// Ends every stream with `error` (the database could no longer be read).
    func fail(_ error: any Error) { end(error) }

    /// Ends every stream; later subscriptions end at once.
    func finish() { end(nil) }

    private func end(_ error: (any Error)?) {
        let subscribers = state.withLock { s in
            s.finished = true
            defer { s.subscribers = [:] }
            return Array(s.subscribers.values)
        }
        for sub in subscribers { sub.continuation.finish(throwing: error) }
    }
}

extension Catalog {
    /// The names of the tables (sorted by bytes), live or just dropped.
    var tableNames: [String] { tables.values.map(\.name).sorted(by: utf8Less) }

    /// The tables a commit's entries changed, by name (a dropped table by its name before).
    static func tables(touchedBy entries: [ManifestEntry], before: Catalog, after: Catalog) -> [String] {
        var ids = Set<UInt32>()
        for e in entries {
            switch e {
            case .createTable(let id, _, _): ids.insert(id)
            case .addSymbol(let table, _, _), .addFile(_, let table), .addBlock(let table, _, _), .tableKey(let table),
                .dropTable(let table), .columns(let table, _):
                ids.insert(table)
            case .replaceBlocks(let table, _, _, _, _): ids.insert(table)
            case .fileLength(let file, _):
                if let t = after.files[file]?.table ?? before.files[file]?.table { ids.insert(t) }
            case .idFloor: break
            }
        }
        return ids.compactMap { after.tables[$0]?.name ?? before.tables[$0]?.name }.sorted(by: utf8Less)
    }
}

extension Database {
    /// Every commit after this handle's current view, in order, none skipped: from this handle's
    /// writes and compactions, and, on a read-only handle, from the process that writes the database
    /// (seen through the file system's change notifications, within milliseconds, without polling;
    /// commits that process made since this handle last looked come first). A compaction by the
    /// other process arrives as the commit(s) of its checkpoint, naming every table; an
    /// auto-compaction round as a commit naming the table it merged (its manifest folds keep the
    /// sequence and are no commit). Commits the other process folded into a checkpoint before this
    /// handle read them each still arrive, naming the tables of that checkpoint.
    ///
    /// The stream buffers: a consumer that reads slowly never holds up the writer and still gets
    /// every commit. It ends when the database is closed. Read-write handles see only their own
    /// commits (no other process can write while they hold the lock).
    ///
    /// ```swift
    /// for try await commit in db.commits() {
    ///     print(commit.sequence, commit.tables)
    /// }
    /// ```
    public func commits() -> AsyncThrowingStream<Commit, any Error> {
        // Subscribed under the state lock: no commit can be applied between reading the sequence and
        // subscribing, so none is missed or seen twice.
        let stream = current.withLock { state in feed.subscribe(after: state.snapshot.catalog.sequence) }
        if options.mode == .readOnly {
            startWatching()
            _ = try? snapshot()  // commits made since this handle last looked
        }
        return stream
    }

    /// Starts (once) a thread that refreshes this read-only handle whenever the database directory
    /// changes, which hands new commits to the feed.
    private func startWatching() {
        guard watching.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged,
            let watcher = DirectoryWatcher(path)
        else { return }
        DispatchQueue(label: "strata.commits.\(path)").async { [weak self] in
            // A change notification refreshes at once; every 100 ms without one, a refresh (an fstat
            // when nothing changed) catches anything a notification did not say.
            // A refresh that fails three times in a row (not a state caught mid-change) ends the feed
            // with its error.
            var failures = 0
            while let db = self, !db.isClosed {
                _ = watcher.wait(timeout: 100)
                do {
                    _ = try db.snapshot()
                    failures = 0
                } catch {
                    failures += 1
                    if failures == 3 && !db.isClosed {
                        db.feed.fail(error)
                        return
                    }
                }
            }
        }
    }
}
