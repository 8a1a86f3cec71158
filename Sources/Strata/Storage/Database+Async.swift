import Dispatch
import Synchronization

/// `async` forms of `read`, `write` and `compact`: the blocking work (reading blocks, writing and
/// syncing files) runs on a thread of Dispatch's global pool, not on the caller's executor, so an
/// actor or the main actor is never held through an fsync. Cancellation: a task cancelled before the
/// call throws `CancellationError` and does nothing; cancelled while `body` runs, it throws
/// `CancellationError` once `body` returns and before the commit starts, and nothing is written.
/// A commit that has started completes (it is not torn by a cancellation).
extension Database {
    /// Runs `body` on one consistent snapshot, off the caller's executor.
    public func read<R: Sendable>(_ body: @escaping @Sendable (Snapshot) throws -> R) async throws -> R {
        try await offExecutor { _ in try self.read(body) }
    }

    /// Runs `body` in a write transaction and commits when it returns, off the caller's executor.
    /// A cancellation seen before the commit starts throws `CancellationError` and keeps nothing.
    public func write<R: Sendable>(_ body: @escaping @Sendable (Transaction) throws -> R) async throws -> R {
        try await offExecutor { cancelled in
            try self.write { tx in
                let result = try body(tx)
                if cancelled.load(ordering: .acquiring) { throw CancellationError() }
                return result
            }
        }
    }

    /// `compact(table:)`, off the caller's executor (cancellation is honoured before it starts).
    public func compact(table: String? = nil) async throws -> CompactionReport {
        try await offExecutor { _ in try self.compact(table: table) }
    }

    /// Runs `work` on a global queue and resumes with its result; `work` sees the task's cancellation
    /// through the flag it is given.
    private func offExecutor<R: Sendable>(_ work: @escaping @Sendable (borrowing Atomic<Bool>) throws -> R) async throws -> R {
        try Task.checkCancellation()
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<R, any Error>) in
                DispatchQueue.global(qos: .userInitiated).async {
                    continuation.resume(with: Result { try work(flag.value) })
                }
            }
        } onCancel: {
            flag.value.store(true, ordering: .releasing)
        }
    }
}

/// A task's cancellation, visible to the thread doing its blocking work.
private final class CancellationFlag: Sendable {
    let value = Atomic<Bool>(false)
}
