import CStrataKernels
import Testing
@testable import StrataTools

/// The vector twins of the C kernels against the scalar ones, on random bytes.
/// Serialized: both tests switch the process-wide vector paths off and on.
@Suite(.serialized) struct KernelTests {
    /// Every width (1 ... 56), finishing step and divisor: the AVX-512 VBMI miniblock kernels give
    /// the scalar kernels' values and running value, unpacking and skipping. Skipped on a
    /// processor without them (the scalar kernels are then the only ones).
    @Test(.enabled(if: strata_use_vector_kernels(1) & 2 != 0, "this processor has no AVX-512 VBMI"))
    func vectorMiniblocksMatchScalar() {
        defer { _ = strata_use_vector_kernels(1) }
        var rng = SplitMix(seed: 0x5EED)
        let zigzag = UInt32(STRATA_FINISH_ZIGZAG), delta = UInt32(STRATA_FINISH_DELTA)
        let finishes: [UInt32] = [0, zigzag, delta, delta | zigzag]
        for width in 1...56 {
            for finish in finishes {
                for divisor: Int64 in [1, 100, -7] {
                    let input = (0..<(16 * width + 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    let start = Int64(bitPattern: rng.next())
                    func run(vector: Bool) -> (values: [Int64], acc: Int64, skipped: Int64) {
                        _ = strata_use_vector_kernels(vector ? 1 : 0)
                        var out = [Int64](repeating: 0, count: 128)
                        var acc = start, skipped = start
                        input.withUnsafeBufferPointer { p in
                            strata_unpack128(p.baseAddress!, UInt32(width), &out, finish, divisor, &acc)
                            strata_skip128(p.baseAddress!, UInt32(width), finish, divisor, &skipped)
                        }
                        return (out, acc, skipped)
                    }
                    let scalar = run(vector: false), vector = run(vector: true)
                    #expect(vector.values == scalar.values, "width \(width), finish \(finish), divisor \(divisor)")
                    #expect(vector.acc == scalar.acc && vector.skipped == scalar.skipped, "width \(width), finish \(finish), divisor \(divisor)")
                }
            }
        }
    }

    /// min, max and the split sum of runs of Int64 (lengths 1 ... 300, the extremes of Int64 among
    /// them): the AVX-512 loops give the scalar ones' results, and the split sum is the exact sum.
    @Test(.enabled(if: strata_use_vector_kernels(1) & 1 != 0, "this processor has no AVX-512 F, DQ and VL"))
    func vectorReductionsMatchScalar() {
        defer { _ = strata_use_vector_kernels(1) }
        var rng = SplitMix(seed: 0xAB5)
        for round in 0..<400 {
            let n = 1 + Int(rng.next() % 300)
            let values: [Int64] = (0..<n).map { _ in
                switch rng.next() % 8 {
                case 0: .min
                case 1: .max
                case 2: Int64(bitPattern: rng.next()) >> 40
                default: Int64(bitPattern: rng.next())
                }
            }
            func run(vector: Bool) -> (min: Int64, max: Int64, sum: Int128) {
                _ = strata_use_vector_kernels(vector ? 1 : 0)
                var high: Int64 = 0, low: Int64 = 0
                strata_split_sum_i64(values, n, &high, &low)
                return (strata_min_i64(values, n), strata_max_i64(values, n), Int128(high) * 4_294_967_296 + Int128(low))
            }
            let scalar = run(vector: false), vector = run(vector: true)
            #expect(vector.min == scalar.min && vector.max == scalar.max && vector.sum == scalar.sum, "round \(round)")
            #expect(scalar.min == values.min()! && scalar.max == values.max()!, "round \(round)")
            #expect(scalar.sum == values.reduce(Int128(0)) { $0 + Int128($1) }, "round \(round)")
        }
    }
}
