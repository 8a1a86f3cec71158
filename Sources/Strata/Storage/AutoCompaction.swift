import Dispatch
import Synchronization

/// How a read-write handle compacts by itself (`DatabaseOptions.autoCompaction`).
///
/// A writer that makes many small commits leaves many small blocks. With auto-compaction on (the
/// default) the handle merges them in the background, on a thread of its own:
/// - blocks at the end of a symbol that are below `blockRows` rows are merged `fanIn` at a time, by
///   size (`fanIn` blocks of under `fanIn` rows make one; `fanIn` of those make one of under
///   `fanIn`² rows; and so on up to full blocks), so a row is rewritten only a few times, a symbol
///   keeps at most about `fanIn` small blocks per size class, and they hold fewer rows than a full
///   block;
/// - merged blocks go to files of the compactor's own (full blocks and small ones apart), files left
///   mostly dead are emptied, and the manifest's log is folded into a checkpoint that leaves out
///   the emptied files.
///
/// Each round commits like a transaction (data synced, then one commit record), and holds the writer
/// only for that record: the merging and writing happen before, while the writer goes on. A round
/// that finds the blocks it merged changed by a commit meanwhile leaves them as they are.
/// `Database.compact` still rewrites everything at once.
public struct AutoCompaction: Sendable, Equatable {
    /// Whether the handle compacts in the background (true by default).
    public var isEnabled: Bool
    /// How many blocks of a size class are merged into one (2...64; 16 by default).
    public var fanIn: Int
    /// False runs no thread: rounds run only when `runAutoCompaction()` is called (tests do).
    var inBackground = true
    /// Files smaller than this (or than 1/64 of the live bytes, when more) are not sealed or emptied
    /// to reclaim space.
    var fileBytes: UInt64 = 256 << 10
    /// How far the manifest may grow past its last checkpoint before it is folded into a new one
    /// (at least the size of a checkpoint).
    var logBytes: UInt64 = 256 << 10

    /// Auto-compaction on or off, merging `fanIn` blocks at a time.
    public init(isEnabled: Bool = true, fanIn: Int = 16) {
        self.isEnabled = isEnabled
        self.fanIn = fanIn
    }

    /// No compaction but `Database.compact`.
    public static let off = AutoCompaction(isEnabled: false)

    static let fanInRange = 2...64
}

/// Which blocks at the end of a symbol to merge.
enum MergePolicy {
    /// The size class of a block: 0 below `fanIn` rows, 1 below `fanIn`², and so on.
    static func level(_ rows: UInt32, fanIn: Int) -> Int {
        var level = 0
        var r = Int(rows)
        while r >= fanIn {
            r /= fanIn
            level += 1
        }
        return level
    }

    /// The blocks to merge now, if any: among the symbol's trailing blocks below `blockRows` rows, see
    /// `tailRun`. Otherwise the run of small blocks just before the trailing full ones, when it has two or more:
    /// a commit of full blocks ended it, so it gets no more and is merged whole.
    /// Only the last `fanIn` × 16 blocks are looked at (far more than the policy leaves small), so a
    /// round's work stays bounded on a long history, such as one written without auto-compaction.
    static func run(_ blocks: BlockList, blockRows: Int, fanIn: Int) -> Range<Int>? {
        let floor = max(0, blocks.count - fanIn * 16)
        var start = blocks.count
        while start > floor && Int(blocks[start - 1].rows) < blockRows { start -= 1 }
        if let run = tailRun(blocks, from: start, fanIn: fanIn, blockRows: blockRows) { return run }
        var end = start
        while end > floor && Int(blocks[end - 1].rows) >= blockRows { end -= 1 }
        var first = end
        while first > floor && Int(blocks[first - 1].rows) < blockRows { first -= 1 }
        return end - first >= 2 && end < start ? first..<end : nil
    }

    /// In the trailing small blocks: first a block larger in class than the ones before it, merged
    /// with them (so classes never grow towards the end); else `fanIn` blocks of one class, or blocks
    /// of a class and the smaller ones after them that hold a full block's rows, merged with the
    /// smaller ones after them (so the trailing small blocks hold fewer rows than a full block).
    private static func tailRun(_ blocks: BlockList, from start: Int, fanIn: Int, blockRows: Int) -> Range<Int>? {
        let levels = (start..<blocks.count).map { level(blocks[$0].rows, fanIn: fanIn) }
        for i in levels.indices.dropFirst().reversed() where levels[i] > levels[i - 1] {
            var j = i - 1
            while j > 0 && levels[j - 1] < levels[i] { j -= 1 }
            return (start + j)..<(start + i + 1)
        }
        for target in 0...(levels.max() ?? 0) {
            var i = levels.count
            var atTarget = 0, rows = 0
            while i > 0 && levels[i - 1] <= target {
                if levels[i - 1] == target { atTarget += 1 }
                rows += Int(blocks[start + i - 1].rows)
                i -= 1
            }
            if atTarget >= fanIn || (rows >= blockRows && i < levels.count - 1) { return (start + i)..<blocks.count }
        }
        return nil
    }
}

/// A symbol of a table.
struct SymbolKey: Hashable, Sendable {
    var table: UInt32
    var symbol: UInt32
}

/// The background side of auto-compaction: the symbols commits touched, the thread, and the state of
/// the rounds (held for a whole round; `Database.compact` takes it too, so the two never overlap).
final class AutoCompactor: Sendable {
    let settings: AutoCompaction
    private let dirty = Lock<Set<SymbolKey>>([])
    private let started = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    /// The thread running rounds (0 before it starts).
    private let thread = Atomic<UInt>(0)
    let rounds = Lock(RoundState())

    init(settings: AutoCompaction) { self.settings = settings }

    /// Marks the symbols a commit gave blocks to.
    func note(_ entries: [ManifestEntry]) {
        var keys: [SymbolKey] = []
        for e in entries {
            switch e {
            case .addBlock(let table, let symbol, _), .replaceBlocks(let table, let symbol, _, _, _):
                keys.append(SymbolKey(table: table, symbol: symbol))
            default: continue
            }
        }
        if !keys.isEmpty { dirty.withLock { $0.formUnion(keys) } }
    }

    func takeDirty() -> Set<SymbolKey> { dirty.withLock { d in defer { d = [] }; return d } }

    func markDirty(_ keys: some Sequence<SymbolKey>) { dirty.withLock { $0.formUnion(keys) } }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Wakes the thread (starting it the first time) to run rounds until there is nothing to do.
    /// (A thread started just as `stop` runs finds it stopping before its first round.)
    func wake(_ db: Database) {
        if isStopping { return }
        if started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            // The thread holds the database weakly: a handle nobody holds (and did not close) goes away.
            DispatchQueue(label: "strata.autocompaction.\(db.path)").async { [weak db] in self.loop { [weak db] in db } }
        }
        wake.signal()
    }

    private func loop(_ database: () -> Database?) {
        thread.store(System.currentThread(), ordering: .releasing)
        while true {
            wake.wait()
            if isStopping { break }
            // A round that fails (a full disk, say) ends the burst; the next commit tries again.
            while !isStopping, let db = database(), (try? db.runAutoCompactionRound(self, wait: false)) == true {}
        }
        exited.signal()
    }

    /// Stops the thread, waiting for a round in progress (it gives up at its next step) unless
    /// called on the thread itself.
    func stop() {
        if stopping.exchange(true, ordering: .acquiringAndReleasing) { return }  // stopped before
        guard started.load(ordering: .acquiring) else { return }
        wake.signal()
        if thread.load(ordering: .acquiring) != System.currentThread() { exited.wait() }
    }
}

/// What lasts from one round to the next.
struct RoundState: ~Copyable {
    /// The files merged blocks are appended to, by table and kind (full blocks or small ones).
    var outputs: [OutputKey: MergeOutput] = [:]
    /// The manifest's length when files were last looked at.
    var manifestAtFilePass: UInt64 = 0
    /// The manifest's length after its last checkpoint.
    var logStart: UInt64 = 0
}

struct OutputKey: Hashable {
    var table: UInt32
    var full: Bool
}

/// A data file of the compactor's: written without the writer lock, past its committed length.
struct MergeOutput {
    let id: UInt32
    let table: UInt32
    let handle: OpenFile
    /// Its committed length; nil until a commit adds the file.
    var committed: UInt64?
    var length: UInt64
    /// Whether this round wrote to it.
    var touched = false
}

/// One move of a round: blocks `at ..< at + old.count` of a symbol, merged into new blocks or each
/// copied byte for byte into an output file.
struct BlockMove {
    let key: SymbolKey
    let at: Int
    let old: [BlockRef]
    let merge: Bool
    var new: [BlockRef] = []
    var valid = true
}

/// What a round planned, from one snapshot: carried out without the writer lock.
struct RoundPlan {
    let snapshot: Snapshot
    let manifestOffset: UInt64
    var moves: [BlockMove]
    var checkpoint: Bool
    /// Files without blocks that take no appends: left out of the checkpoint.
    var dropFiles: Set<UInt32>
}
