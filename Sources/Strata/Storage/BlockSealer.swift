import Dispatch
import Synchronization

/// Encodes blocks on a background thread, so that a writer parses and appends while the previous
/// blocks are being compressed. Jobs finish in the order they were submitted (one serial queue),
/// which keeps each symbol's blocks in time order. At most `inFlightMax` jobs wait or run at once.
final class BlockSealer: @unchecked Sendable {
    struct Job: Sendable {
        var table: UInt32
        var symbol: UInt32
        var times: [Int64]
        var columns: [[Int64]]
        var types: [ColumnType]
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
    private let finished = Mutex<[Sealed]>([])

    func submit(_ job: Job) {
        slots.wait()
        queue.async {
            let bytes = self.encoder.encode(
                tableID: job.table, symbolID: job.symbol, times: job.times, columns: job.columns, types: job.types)
            self.finished.withLock { $0.append(Sealed(job: job, bytes: bytes)) }
            self.slots.signal()
        }
    }

    /// The jobs finished so far, in submission order.
    func takeFinished() -> [Sealed] {
        finished.withLock { done in
            let out = done
            done.removeAll()
            return out
        }
    }

    /// Waits for every submitted job, then returns the finished ones.
    func finishAll() -> [Sealed] {
        queue.sync {}
        return takeFinished()
    }
}
