import Benchmark
import Strata
#if canImport(Glibc)
import Glibc
#endif

// A first suite: import and scan of the generator's sample data. The full suite (encoders,
// aggregates, resampling, as-of joins) arrives with the benchmark issue.
let benchmarks: @Sendable () -> Void = {
    let root = "/tmp/strata-bench-\(getpid())"
    let data = root + "/data"
    let summary = try! SampleData.generate(into: data, symbols: 20, days: 20)

    Benchmark("CSV import (bars, 20 symbols x 20 days)", configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxIterations: 5)) { benchmark in
        let db = root + "/import-\(benchmark.currentIteration).db"
        let database = try Database.open(db)
        benchmark.startMeasurement()
        _ = try database.write { tx in try CSVImporter.run(data + "/bars_1m.csv", into: "bars", transaction: tx) }
        benchmark.stopMeasurement()
        database.close()
    }

    let scanDB = root + "/scan.db"
    let database = try! Database.open(scanDB)
    _ = try! database.write { tx in try CSVImporter.run(data + "/bars_1m.csv", into: "bars", transaction: tx) }
    let snapshot = try! database.snapshot()
    let symbol = summary.symbols[0]

    Benchmark("full scan of one symbol (close)", configuration: .init(metrics: [.wallClock, .mallocCountTotal])) { benchmark in
        for _ in benchmark.scaledIterations {
            var sum = 0.0
            try snapshot.scan("bars", symbol: symbol, columns: ["close"]) { batch in
                for v in batch.float64(0) { sum += v }
            }
            blackHole(sum)
        }
    }
}
