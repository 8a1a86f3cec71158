/// Per-column statistics of one block, kept in the block header so that a query can answer or skip
/// the block without decoding it. Values are stored as 64-bit patterns: Int64 as themselves,
/// Float64 as their IEEE-754 bits.
///
/// Float64 rules (Format.md, "Statistics"):
/// - `min`/`max` ignore NaN; they order -0.0 below +0.0. When every value is NaN both are NaN.
/// - `sum` adds the non-NaN values in row order; `nanCount` says how many were left out.
/// - `first`/`last` are the values of the first and last row, NaN included.
/// Int64: `sum` wraps on overflow and `sumOverflowed` is set; a query must then decode the block.
/// Text: computed on the dictionary codes, so `min` is 0 and `max` the last entry's code (the
/// dictionary is in byte order); `first`/`last` are the codes of the first and last value; `sum` is 0.
/// Every statistic covers the rows that are not null; the descriptor counts the null ones.
public struct ColumnStats: Sendable, Equatable {
    /// The least value (an Int64, or a Float64's bit pattern).
    public var min: Int64 = 0
    /// The greatest value.
    public var max: Int64 = 0
    /// The sum (Int64, wrapping: see `sumOverflowed`; Float64 as bits).
    public var sum: Int64 = 0
    /// The value of the first row.
    public var first: Int64 = 0
    /// The value of the last row.
    public var last: Int64 = 0
    /// How many values are NaN (Float64).
    public var nanCount: UInt32 = 0
    /// Bits: `sumOverflowedFlag`.
    public var flags: UInt32 = 0

    /// Set when an Int64 sum wrapped.
    public static let sumOverflowedFlag: UInt32 = 1

    /// Whether the Int64 sum wrapped (a query then decodes the block).
    public var sumOverflowed: Bool { flags & Self.sumOverflowedFlag != 0 }

    /// Statistics of nothing.
    public init() {}

    /// The statistics of decoded Int64 values.
    static func compute(_ values: [Int64]) -> ColumnStats {
        values.withUnsafeBufferPointer { compute($0, type: .int64) }
    }

    /// The statistics of decoded Float64 values (computed on their bit patterns, as when encoding).
    static func compute(_ values: [Double]) -> ColumnStats {
        values.withUnsafeBufferPointer { p in p.withMemoryRebound(to: Int64.self) { compute($0, type: .float64) } }
    }

    static func compute(_ values: UnsafeBufferPointer<Int64>, type: ColumnType) -> ColumnStats {
        var s = ColumnStats()
        guard let first = values.first, let last = values.last else { return s }
        s.first = first
        s.last = last
        switch type {
        case .int64, .string:
            var lo = first, hi = first, sum: Int64 = 0, overflow = false
            for v in values {
                lo = Swift.min(lo, v)
                hi = Swift.max(hi, v)
                let (r, o) = sum.addingReportingOverflow(v)
                sum = r
                overflow = overflow || o
            }
            s.min = lo
            s.max = hi
            s.sum = sum
            if overflow { s.flags |= sumOverflowedFlag }
            if type == .string {
                s.sum = 0
                s.flags = 0
            }
        case .float64:
            var lo = Double.nan, hi = Double.nan, sum = 0.0
            var nans: UInt32 = 0
            for bits in values {
                let v = Double(bitPattern: UInt64(bitPattern: bits))
                if v.isNaN {
                    nans += 1
                    continue
                }
                sum += v
                if lo.isNaN || Self.totalLess(v, lo) { lo = v }
                if hi.isNaN || Self.totalLess(hi, v) { hi = v }
            }
            s.min = Int64(bitPattern: lo.bitPattern)
            s.max = Int64(bitPattern: hi.bitPattern)
            s.sum = Int64(bitPattern: sum.bitPattern)
            s.nanCount = nans
        }
        return s
    }

    /// `a < b` with -0.0 ordered below +0.0 (neither is NaN).
    @inline(__always)
    static func totalLess(_ a: Double, _ b: Double) -> Bool {
        a < b || (a == b && a.sign == .minus && b.sign == .plus)
    }
}
