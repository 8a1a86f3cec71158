import Dispatch

/// Encodes blocks on background threads, so that a writer parses and appends while the previous
/// blocks are being compressed. Jobs are handed back in the order they were submitted, which keeps
/// each symbol's blocks in time order. At most `inFlightMax` jobs wait or run at once.
final class BlockSealer: @unchecked Sendable {
    struct Job: Sendable {
        var table: UInt32
        var symbol: UInt32
        /// Where the block goes when it is written.
        var destination: Destination
        var times: [Int64]
        var columns: [ColumnBuffer]
        var ids: [UInt32]
        var types: [ColumnType]
    }

    enum Destination: Sendable {
        /// Position `at` of the symbol's block index.
        case insert(at: Int)
        /// The output of merge `id`, recorded as one replacement once the merge's blocks are all written.
        case merge(id: Int)
    }

    struct Sealed: Sendable {
        var job: Job
        var bytes: [UInt8]
    }

    static let inFlightMax = 8
    /// Encoders working at once: blocks are independent, and handed back in submission order.
    static let encoders = max(1, min(2, System.processorCount))

    private let queues = (0..<BlockSealer.encoders).map { DispatchQueue(label: "strata.block-sealer.\($0)") }
    private let slots = DispatchSemaphore(value: BlockSealer.inFlightMax)
    /// One encoder per queue, touched only on its queue; that is what makes the class safe to share.
    private let encoders = (0..<BlockSealer.encoders).map { _ in Box(BlockEncoder()) }
    /// Guarded by `finishedLock`: finished jobs by submission number, handed out in that order. A
    /// semaphore rather than `Mutex`, because the Thread Sanitizer does not see `Mutex`'s ordering
    /// between the queues' threads and the writer's here and reports a race.
    private var finished: [Int: Sealed] = [:]
    private let finishedLock = DispatchSemaphore(value: 1)
    /// Touched only by the submitting (writer) thread.
    private var submitted = 0
    private var handedOut = 0

    private final class Box<T>: @unchecked Sendable {
        var value: T
        init(_ value: T) { self.value = value }
    }

    func submit(_ job: Job) {
        slots.wait()
        let number = submitted
        submitted += 1
        let encoder = encoders[number % encoders.count]
        queues[number % queues.count].async {
            let bytes = encoder.value.encode(
                tableID: job.table, symbolID: job.symbol, times: job.times, columns: job.columns, ids: job.ids, types: job.types)
            self.finishedLock.wait()
            self.finished[number] = Sealed(job: job, bytes: bytes)
            self.finishedLock.signal()
            self.slots.signal()
        }
    }

    /// The jobs finished so far that follow every job handed out, in submission order.
    func takeFinished() -> [Sealed] {
        finishedLock.wait()
        defer { finishedLock.signal() }
        var out: [Sealed] = []
        while let s = finished.removeValue(forKey: handedOut) {
            out.append(s)
            handedOut += 1
        }
        return out
    }

    /// Waits for every submitted job, then returns the finished ones.
    func finishAll() -> [Sealed] {
        for q in queues { q.sync {} }
        return takeFinished()
    }
}
