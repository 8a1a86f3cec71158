import Dispatch

/// `work(i)` for every i in 0..<count, spread over the cores; the results in order.
func parallelMap<T>(_ count: Int, _ work: (Int) -> T) -> [T] {
    if count <= 1 || System.processorCount == 1 { return (0..<count).map(work) }
    let results = (0..<count).map { _ in Box<T?>(nil) }
    withoutActuallyEscaping(work) { work in
        let w = Box(work)
        DispatchQueue.concurrentPerform(iterations: count) { i in results[i].value = w.value(i) }
    }
    return results.map { $0.value! }
}

/// Carries a value into `DispatchQueue.concurrentPerform`'s workers and a result out of each:
/// `@unchecked` because the values (group tables, work closures) are not `Sendable`. Each box is
/// written by one worker only and read after `concurrentPerform` returns, which orders the two.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
