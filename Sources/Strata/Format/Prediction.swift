import CStrataKernels

/// A predicted chunk (format 4, encoding flag `predicted`): a decimal column whose values are
/// stored as residuals from a prediction made of three other columns of the same block, a count
/// and two prices: turnover from volume × (high + low) / 2. Format.md, "Predicted chunks", is the
/// contract; the prediction is computed the same way when writing and reading, in IEEE binary64
/// arithmetic with one rounding, so it never needs to be exact to be undone exactly.
struct Prediction: Equatable, Sendable {
    /// Column id of an int64 column.
    var count: UInt32
    /// Column ids of two decimal float64 columns (the same id twice for one price).
    var first: UInt32
    var second: UInt32

    /// The part that starts a predicted chunk: the three ids and a zero `u32`.
    static let partBytes = 16

    /// The factors that bring a price at scale `k1` (and `k2`) to the target's scale `k`, halved.
    static func factors(target k: Int, _ k1: Int, _ k2: Int) -> (Double, Double) {
        (powersOfTen[k] / powersOfTen[k1] * 0.5, powersOfTen[k] / powersOfTen[k2] * 0.5)
    }

    /// The prediction of one row from the count `v` and the prices' scaled integers `a` and `b`:
    /// (a × f1 + b × f2) × v truncated toward zero; 0 when it is 2^62 or more in magnitude.
    @inline(__always)
    static func value(_ v: Int64, _ a: Int64, _ b: Int64, _ f1: Double, _ f2: Double) -> Int64 {
        let q = (Double(a) * f1 + Double(b) * f2) * Double(v)
        return q.magnitude < 4_611_686_018_427_387_904 ? Int64(q) : 0
    }

    /// Adds the prediction to the residuals in `out` for the rows `window`, from the count `v` and
    /// the prices' scaled integers `a` and `b` (each as long as `out`); then, with `divide`, turns
    /// each sum into the Float64 sum / `divide` (its bit pattern). The loop is `strata_predict_add`,
    /// `value`'s arithmetic in C, four rows at a time with AVX-512's 256-bit instructions where the
    /// processor has them (int64 to double and back are single instructions there; the Swift loop
    /// was a tenth of a full scan).
    static func add(
        to out: UnsafeMutableBufferPointer<Int64>, _ window: Range<Int>, _ v: UnsafeBufferPointer<Int64>,
        _ a: UnsafeBufferPointer<Int64>, _ b: UnsafeBufferPointer<Int64>, _ f1: Double, _ f2: Double, divide: Double?
    ) {
        precondition(window.upperBound <= min(out.count, v.count, a.count, b.count))
        precondition(divide.map { $0 > 0 } ?? true)
        guard !window.isEmpty, let o = out.baseAddress, let v = v.baseAddress, let a = a.baseAddress, let b = b.baseAddress else { return }
        strata_predict_add(o, window.lowerBound, window.upperBound, v, a, b, f1, f2, divide ?? 0)
    }

    /// The residuals `target − prediction` of rows 0 ..< `rows` into `out` (replacing what it
    /// held): the writer's side of `add`, the same arithmetic (`strata_predict_residuals`).
    static func residuals(
        _ target: [UInt64], _ v: [Int64], _ a: [UInt64], _ b: [UInt64], _ f1: Double, _ f2: Double, rows: Int, into out: inout [UInt64]
    ) {
        precondition(rows <= min(target.count, v.count, a.count, b.count))
        out.resizeForOverwrite(to: rows)  // every row is written below
        guard rows > 0 else { return }
        // Int64 and UInt64 may be read through each other's pointers (signed and unsigned forms).
        func signed(_ p: UnsafeBufferPointer<UInt64>) -> UnsafePointer<Int64> { UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: Int64.self) }
        target.withUnsafeBufferPointer { t in
            v.withUnsafeBufferPointer { v in
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        out.withUnsafeMutableBufferPointer { o in
                            let o = UnsafeMutableRawPointer(o.baseAddress!).assumingMemoryBound(to: Int64.self)
                            strata_predict_residuals(o, rows, signed(t), v.baseAddress!, signed(a), signed(b), f1, f2)
                        }
                    }
                }
            }
        }
    }

    func write(to payload: inout [UInt8]) {
        var w = ByteWriter()
        w.u32(count)
        w.u32(first)
        w.u32(second)
        w.u32(0)
        payload.append(contentsOf: w.bytes)
    }

    /// Reads the part at the start of a predicted chunk.
    static func read(_ chunk: UnsafeRawBufferPointer, what: () -> String) throws(StrataError) -> Prediction {
        guard chunk.count >= partBytes else { throw .damaged("\(what()): the prediction part runs past its chunk") }
        func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: chunk.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        if u32(12) != 0 { throw .damaged("\(what()): the prediction part's reserved field is not zero") }
        return Prediction(count: u32(0), first: u32(4), second: u32(8))
    }
}
