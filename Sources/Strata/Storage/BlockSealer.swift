import Dispatch

/// Encodes blocks on a background thread, so that a writer parses and appends while the previous
/// blocks are being compressed. Jobs finish in the order they were submitted (one serial queue),
/// which keeps each symbol's blocks in time order. At most `inFlightMax` jobs wait or run at once.
final class BlockSealer: @unchecked Sendable {
    struct Job: Sendable {
        var table: UInt32
        var symbol: UInt32
        /// Where the block goes when it is written.
        var destination: Destination
        var times: [Int64]
        var columns: [[Int64]]
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

    private let queue = DispatchQueue(label: "strata.block-sealer")
    private let slots = DispatchSemaphore(value: BlockSealer.inFlightMax)
    /// Touched only on `queue`; that is what makes the class safe to share.
    private var encoder = BlockEncoder()
    /// Guarded by `finishedLock`. A semaphore rather than `Mutex`, because the Thread Sanitizer does not
    /// see `Mutex`'s ordering between the queue's thread and the writer's here and reports a race.
    private var finished: [Sealed] = []
    private let finishedLock = DispatchSemaphore(value: 1)

    func submit(_ job: Job) {
        slots.wait()
        queue.async {
            let bytes = self.encoder.encode(
                tableID: job.table, symbolID: job.symbol, times: job.times, columns: job.columns, types: job.types)
            self.finishedLock.wait()
            self.finished.append(Sealed(job: job, bytes: bytes))
            self.finishedLock.signal()
            self.slots.signal()
        }
    }

    /// The jobs finished so far, in submission order.
    func takeFinished() -> [Sealed] {
        finishedLock.wait()
        defer { finishedLock.signal() }
        let out = finished
        finished.removeAll()
        return out
    }

    /// Waits for every submitted job, then returns the finished ones.
    func finishAll() -> [Sealed] {
        queue.sync {}
        return takeFinished()
    }
}
