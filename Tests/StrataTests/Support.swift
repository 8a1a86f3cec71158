import Foundation
@testable import Strata
@testable import StrataTools

/// Deterministic random numbers for property tests: the generator's SplitMix64.
typealias SplitMix = SampleRandom
extension SampleRandom: RandomNumberGenerator {}

/// A fresh directory under the system temp folder, removed by `cleanup`.
struct TempDir {
    let path: String
    init(_ name: String = "strata-test") {
        path = NSTemporaryDirectory() + "\(name)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
    func sub(_ name: String) -> String { path + "/" + name }
}

/// Values that stress the encoders: edges of Int64 and Float64, repeats, decimals.
enum EdgeValues {
    static let doubles: [Double] = [
        0.0, -0.0, .nan, .infinity, -.infinity, 5e-324, -5e-324, .greatestFiniteMagnitude,
        -.greatestFiniteMagnitude, 0.30000000000000004, 0.1, 1.234, 3745.123, 1e300, 2.5e-10,
        Double(bitPattern: 0x7FF8_0000_0000_1234),  // NaN with a payload
    ]
    static let ints: [Int64] = [0, 1, -1, .max, .min, .max - 1, .min + 1, 100, -100, 1 << 53, 4_294_967_296]
}

/// A random value for a column of the given type; mixes regimes so every encoder path is taken.
func randomValue(_ type: ColumnType, regime: Int, row: Int, using rng: inout SplitMix) -> Int64 {
    switch type {
    case .int64:
        switch regime {
        case 0: return Int64(rng.next() % 1000) * 100  // lots of 100
        case 1: return EdgeValues.ints[Int(rng.next() % UInt64(EdgeValues.ints.count))]
        case 2: return Int64(bitPattern: rng.next())
        case 4: return Int64(bitPattern: rng.next() >> UInt64((row / 128 * 7) % 64))  // every bit width
        default: return Int64(row) * 7 - 50
        }
    case .float64:
        let d: Double
        switch regime {
        case 0: d = Double(Int64(rng.next() % 5000) + 500) / 1000  // 3-decimal prices
        case 1: d = EdgeValues.doubles[Int(rng.next() % UInt64(EdgeValues.doubles.count))]
        case 2: d = Double(bitPattern: rng.next())
        case 4: d = Double(Int64(bitPattern: rng.next()) >> (11 + UInt64(row / 64 % 3))) / 10  // decimals near 2^53
        default: d = Double(Int64(rng.next() % 100_000_000)) / 10 - 1000  // 1 decimal, negatives
        }
        return Int64(bitPattern: d.bitPattern)
    case .string:
        return Int64(rng.next() % UInt64(1 + regime * 3))  // dictionary codes
    }
}
