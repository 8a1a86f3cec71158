import Dispatch
import Synchronization

/// `work(i)` for every i in 0..<count, spread over the cores; the results in order
/// (`parallelInOrder`, collecting them).
func parallelMap<T>(_ count: Int, _ work: (Int) -> T) -> [T] {
    var results: [T] = []
    results.reserveCapacity(count)
    do throws(StrataError) {
        try parallelInOrder(count, { (i) throws(StrataError) -> T in work(i) }, deliver: { results.append($0) })
    } catch {
        preconditionFailure("neither the work nor the delivery throws")
    }
    return results
}

/// Starts the threads `parallelInOrder` hands shares to, once a process, so that its first query
/// finds them running. A thread of the global queue starts on the first job given it, and in a
/// fresh process it joined the first scan 1–5 ms late: the latest row of 500 symbols (half a
/// scan a thread) took 3.8–4.0 ms in a fresh `strata query`, 2.3–2.8 ms with the threads started
/// as the database opens (medians of 31 processes, four interleaved rounds).
func startHelpers() {
    _ = helpersStarted
}

private let helpersStarted: Void = {
    for _ in 1..<max(1, System.processorCount) { DispatchQueue.global().async {} }
}()

/// `work(i)` for every i in 0..<count, spread over the cores, each result handed to `deliver` on
/// the calling thread in the order of i, as soon as it and those before it are done. The calling
/// thread takes shares of the work too and hands results on between them: a query's first rows
/// are printed while the other cores scan the rest. After an error (from `work` or `deliver`) no
/// share starts; it is rethrown once the shares under way have ended.
func parallelInOrder<T>(
    _ count: Int, _ work: (Int) throws(StrataError) -> T, deliver: (T) throws(StrataError) -> Void
) throws(StrataError) {
    let helpers = min(count, System.processorCount) - 1
    if helpers <= 0 {
        for i in 0..<count { try deliver(try work(i)) }
        return
    }
    let outcome = withoutActuallyEscaping(work) { work -> Result<Void, StrataError> in
        let shares = InOrderShares(count: count, work: work)
        for _ in 0..<helpers { DispatchQueue.global().async { shares.help() } }
        let outcome = shares.lead(deliver)
        shares.close()  // after it no helper holds `work`, which must not outlive this closure
        return outcome
    }
    try outcome.get()
}

/// The shared state of one `parallelInOrder`: shares are taken in order from `next`; each share's
/// result is stored in its box and its semaphore signalled, which orders the store before the
/// calling thread's read. A helper that starts after `close` (the global queue was busy) finds
/// the run closed and leaves without touching the work.
private final class InOrderShares<T>: @unchecked Sendable {
    private let count: Int
    private let next = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let results: [Box<Result<T, StrataError>?>]
    /// Per share: set (releasing) once its result is stored, then its semaphore signalled for a
    /// caller that waits. The caller tests the flag first: a semaphore's wait with a timeout of
    /// now is a system call.
    private let done: [Flag]
    private let ready: [DispatchSemaphore]
    /// Guards `work`, `closed` and `active`.
    private let lock = DispatchSemaphore(value: 1)
    private var work: ((Int) throws(StrataError) -> T)?
    private var closed = false
    private var active = 0
    private let drained = DispatchSemaphore(value: 0)

    init(count: Int, work: @escaping (Int) throws(StrataError) -> T) {
        self.count = count
        self.work = work
        results = (0..<count).map { _ in Box(nil) }
        done = (0..<count).map { _ in Flag() }
        ready = (0..<count).map { _ in DispatchSemaphore(value: 0) }
    }

    private final class Flag: Sendable {
        let set = Atomic<Bool>(false)
    }

    /// Runs shares until none is left; stores each result and signals it.
    private func runShares() {
        let work = self.work!  // set until `close`, which waits for the helpers inside the run
        while !stopped.load(ordering: .relaxed) {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= count { return }
            run(work, i)
        }
    }

    private func run(_ work: (Int) throws(StrataError) -> T, _ i: Int) {
        let r = Result { () throws(StrataError) -> T in try work(i) }
        if case .failure = r { stopped.store(true, ordering: .relaxed) }
        results[i].value = r
        done[i].set.store(true, ordering: .releasing)
        ready[i].signal()
    }

    /// A helper thread's part: shares while the run is open. `runShares` has let go of the work
    /// (a local of its own) before `leave` tells the run this helper is out.
    func help() {
        guard enter() else { return }
        runShares()
        leave()
    }

    private func enter() -> Bool {
        lock.wait()
        defer { lock.signal() }
        if closed { return false }
        active += 1
        return true
    }

    private func leave() {
        lock.wait()
        active -= 1
        let last = closed && active == 0
        lock.signal()
        if last { drained.signal() }
    }

    /// The calling thread's part: hands results on in order, taking a share when the next result
    /// is not ready and one is left, else waiting for it.
    func lead(_ deliver: (T) throws(StrataError) -> Void) -> Result<Void, StrataError> {
        let work = self.work!
        for k in 0..<count {
            while !done[k].set.load(ordering: .acquiring) {
                let i = stopped.load(ordering: .relaxed) ? count : next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= count {
                    ready[k].wait()
                    break
                }
                run(work, i)
            }
            let r = results[k].value!
            results[k].value = nil
            switch r {
            case .failure(let e):
                stopped.store(true, ordering: .relaxed)
                return .failure(e)
            case .success(let v):
                do throws(StrataError) {
                    try deliver(v)
                } catch {
                    stopped.store(true, ordering: .relaxed)
                    return .failure(error)
                }
            }
        }
        return .success(())
    }

    /// Ends the run: waits for the helpers inside it, and lets go of the work.
    func close() {
        lock.wait()
        closed = true
        let wait = active > 0
        lock.signal()
        if wait { drained.wait() }
        work = nil
    }
}

/// Carries a value between threads: a share's result from the thread that ran it to the caller
/// (`parallelInOrder`), a job or an encoder to the queue that works on it (Parquet's row groups, the
/// block sealer). `@unchecked` because the values (group tables, closures, encoders) are not
/// `Sendable`. Each box is written by one thread at a time and read after what orders the two: a
/// share's flag (released) or semaphore, a queue's `async`, a group or semaphore waited for.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
