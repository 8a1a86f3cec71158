import CStrataKernels
import Testing
@testable import StrataTools

/// The vector twins of the C kernels against the scalar ones, on random bytes.
@Suite struct KernelTests {
    /// Every width (1 ... 56), finishing step and divisor: the AVX-512 VBMI miniblock kernels give
    /// the scalar kernels' values and running value, unpacking and skipping. Skipped on a
    /// processor without them (the scalar kernels are then the only ones).
    @Test(.enabled(if: strata_use_vector_kernels(1) != 0, "this processor has no AVX-512 VBMI"))
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
}
