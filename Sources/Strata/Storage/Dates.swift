#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `Date` at the API's edge: a table keeps times as Int64 counts of its `TimeUnit` since
/// 1970-01-01 UTC; these convert both ways (to the nearest unit: a `Date` is a Double of seconds, so
/// nanoseconds far from 1970 are not exact in it).
extension TimeUnit {
    /// The count of this unit at `date`, rounded to the nearest.
    public func time(_ date: Date) throws(StrataError) -> Int64 {
        let v = (date.timeIntervalSince1970 * Double(perSecond)).rounded()
        guard let t = Int64(exactly: v) else { throw .badInput("\(date) is out of the range of a time in \(self)") }
        return t
    }

    /// The instant of `time` counts of this unit.
    public func date(_ time: Int64) -> Date {
        let seconds = time / perSecond, rest = time % perSecond
        return Date(timeIntervalSince1970: Double(seconds) + Double(rest) / Double(perSecond))
    }
}

extension Transaction {
    /// `append(to:symbol:time:values:)` with the time as a `Date`, in the table's unit.
    public func append(to table: String, symbol: String, time: Date, values: [Value]) throws(StrataError) {
        guard let unit = try schema(of: table)?.timeUnit else { throw .badInput("no table named \(table)") }
        try append(to: table, symbol: symbol, time: try unit.time(time), values: values)
    }
}

extension Snapshot {
    /// `scan(_:symbol:from:to:columns:_:)` over [from, to) given as `Date`s.
    public func scan(
        _ table: String, symbol: String, from: Date, to: Date? = nil, columns: [String]? = nil, _ body: (ScanBatch) throws -> Void
    ) throws {
        guard let unit = schema(of: table)?.timeUnit else { throw StrataError.badInput("no table named \(table)") }
        try scan(table, symbol: symbol, from: try unit.time(from), to: try to.map { (d) throws(StrataError) in try unit.time(d) }, columns: columns, body)
    }
}
