/// The runs layout of a block's time column (format 5; Format.md, "The runs layout"): the times as
/// arithmetic runs, each a first time, a step and a row count. Minute bars are runs of a trading
/// session (120 rows a step of 60,000 ms apart), so a block of 8,192 bars is about 70 runs: the
/// times a scan needs are computed rather than decompressed and summed, and the rows at or before
/// a time are found from the runs alone.
///
/// Raw bytes: R u64 gaps, then R u64 steps, then R u64 counts. Run k covers the next count_k rows
/// (count_k ≥ 1, the counts add up to the block's rows); row i of it is `start_k + i × step_k`
/// (wrapping), where start_0 = gap_0 and start_k = (last time of run k − 1) + gap_k. The writer
/// cuts runs greedily (a run takes rows while their difference is its first difference; a run of
/// one row has step 0) and uses the layout when the runs average at least `rowsPerRunMin` rows.
enum TimeRuns {
    /// Fewest rows a run on average for the writer to choose the layout.
    static let rowsPerRunMin = 16
    static let bytesPerRun = 24

    /// The raw bytes' three arrays for `values`, in `out` (gaps, steps, counts), when the runs
    /// average at least `rowsPerRunMin` rows; false (and `out` unspecified) otherwise.
    static func find(_ values: UnsafeBufferPointer<Int64>, into out: inout [UInt64]) -> Bool {
        let n = values.count
        let most = n / rowsPerRunMin
        if most == 0 { return false }
        var starts: [Int] = []  // first row of each run
        starts.reserveCapacity(most + 1)
        var i = 0
        while i < n {
            if starts.count == most { return false }
            starts.append(i)
            if i + 1 == n { break }
            let step = values[i + 1] &- values[i]
            var j = i + 1
            while j + 1 < n && values[j + 1] &- values[j] == step { j += 1 }
            i = j + 1
        }
        let r = starts.count
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(3 * r)
        var previousLast: Int64 = 0
        for k in 0..<r {
            let first = values[starts[k]]
            out.append(UInt64(bitPattern: first &- previousLast))
            previousLast = values[(k + 1 < r ? starts[k + 1] : n) - 1]
        }
        for k in 0..<r {
            let end = k + 1 < r ? starts[k + 1] : n
            out.append(end - starts[k] > 1 ? UInt64(bitPattern: values[starts[k] + 1] &- values[starts[k]]) : 0)
        }
        for k in 0..<r { out.append(UInt64((k + 1 < r ? starts[k + 1] : n) - starts[k])) }
        return true
    }

    /// One run: its first row, rows, first time and step.
    struct Run {
        var row: Int
        var count: Int
        var start: Int64
        var step: Int64
        var last: Int64 { start &+ step &* Int64(count - 1) }
    }

    /// Calls `body` with each run of the `raw` bytes (whose length the caller checked is a multiple
    /// of 24) in order, until it returns false. Throws when a count is 0 or the counts do not add
    /// up to `rows` (checked as far as the walk goes when `body` stops it early).
    @inline(__always)
    static func walk(
        _ raw: UnsafeRawBufferPointer, rows: Int, what: () -> String, _ body: (Run) -> Bool
    ) throws(StrataError) {
        let r = raw.count / bytesPerRun
        @inline(__always) func word(_ i: Int) -> UInt64 {
            UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self))
        }
        var row = 0
        var previousLast: Int64 = 0
        for k in 0..<r {
            let count = word(2 &* r &+ k)
            if count == 0 || count > UInt64(rows - row) {
                throw .damaged("\(what()): time runs do not add up to the block's \(rows) rows")
            }
            let run = Run(
                row: row, count: Int(count), start: previousLast &+ Int64(bitPattern: word(k)), step: Int64(bitPattern: word(r &+ k)))
            if !body(run) { return }
            row += run.count
            previousLast = run.last
        }
        if row != rows { throw .damaged("\(what()): time runs do not add up to the block's \(rows) rows") }
    }

    /// Writes the times of rows `from ..< limit` into `out` (the rows before `from` are left as they were).
    static func expand(
        _ raw: UnsafeRawBufferPointer, rows: Int, from: Int = 0, limit: Int, into out: UnsafeMutableBufferPointer<Int64>,
        what: () -> String
    ) throws(StrataError) {
        guard let p = out.baseAddress else { return }
        try walk(raw, rows: rows, what: what) { run in
            let q = p + run.row
            let skip = max(0, min(run.count, from &- run.row))
            var v = run.start &+ run.step &* Int64(skip)
            for i in skip..<max(skip, min(run.count, limit &- run.row)) {  // an add a value (it vectorises)
                q[i] = v
                v &+= run.step
            }
            return true  // walked to the end, so the counts are checked whole
        }
    }

    /// The number of rows whose time is at or before `through`, the times being in ascending order.
    static func rows(
        _ raw: UnsafeRawBufferPointer, rows: Int, atOrBefore through: Int64, what: () -> String
    ) throws(StrataError) -> Int {
        var n = 0
        try walk(raw, rows: rows, what: what) { run in
            if run.start > through { return false }
            if run.last <= through || run.step <= 0 {
                n = run.row + run.count
                return true
            }
            let steps = UInt64(bitPattern: through &- run.start) / UInt64(run.step)
            n = run.row + Int(min(steps + 1, UInt64(run.count)))
            return false
        }
        return n
    }
}
