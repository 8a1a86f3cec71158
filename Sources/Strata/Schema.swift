/// The type of a value column.
public enum ColumnType: UInt8, Sendable, CustomStringConvertible, Codable {
    case int64 = 1
    case float64 = 2

    public var description: String {
        switch self {
        case .int64: "int64"
        case .float64: "float64"
        }
    }
}

/// The unit of a table's Int64 timestamps.
public enum TimeUnit: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case seconds = 1
    case milliseconds = 2
    case microseconds = 3
    case nanoseconds = 4

    public init?(name: String) {
        switch name {
        case "s": self = .seconds
        case "ms": self = .milliseconds
        case "us": self = .microseconds
        case "ns": self = .nanoseconds
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .seconds: "s"
        case .milliseconds: "ms"
        case .microseconds: "us"
        case .nanoseconds: "ns"
        }
    }

    /// Units of this kind in one second.
    public var perSecond: Int64 {
        switch self {
        case .seconds: 1
        case .milliseconds: 1_000
        case .microseconds: 1_000_000
        case .nanoseconds: 1_000_000_000
        }
    }
}

/// A value column of a table.
public struct Column: Sendable, Equatable {
    public var name: String
    public var type: ColumnType

    public init(_ name: String, _ type: ColumnType) {
        self.name = name
        self.type = type
    }
}

/// A table's schema: a text symbol key, an Int64 timestamp, and typed value columns.
///
/// `symbolPosition` and `timePosition` remember where the key columns stood in the imported
/// header, so that a dump writes the columns back in the order they came in.
public struct Schema: Sendable, Equatable {
    public var symbolColumn: String
    public var timeColumn: String
    public var timeUnit: TimeUnit
    public var columns: [Column]
    public var symbolPosition: Int
    public var timePosition: Int
    /// (symbol, time) is the table's key: it keeps one row per key, and a write replaces every
    /// existing row with the same key (within one transaction, the last row written for a key wins).
    /// Without it, rows with equal keys are all kept, in the order they were written.
    public var dedup: Bool

    public init(
        symbolColumn: String = "symbol", timeColumn: String = "ts", timeUnit: TimeUnit = .milliseconds,
        columns: [Column], symbolPosition: Int = 0, timePosition: Int = 1, dedup: Bool = false
    ) {
        self.symbolColumn = symbolColumn
        self.timeColumn = timeColumn
        self.timeUnit = timeUnit
        self.columns = columns
        self.symbolPosition = symbolPosition
        self.timePosition = timePosition
        self.dedup = dedup
    }

    /// Column names in header order: the symbol and time columns at their positions among the values.
    public var headerNames: [String] {
        headerLayout.map { slot in
            switch slot {
            case .symbol: symbolColumn
            case .time: timeColumn
            case .value(let i): columns[i].name
            }
        }
    }

    public enum Slot: Equatable, Sendable {
        case symbol
        case time
        case value(Int)
    }

    /// The header order as slots.
    public var headerLayout: [Slot] {
        var slots: [Slot] = columns.indices.map { .value($0) }
        let first = min(symbolPosition, timePosition)
        let firstSlot: Slot = symbolPosition < timePosition ? .symbol : .time
        let secondSlot: Slot = symbolPosition < timePosition ? .time : .symbol
        slots.insert(firstSlot, at: min(first, slots.count))
        slots.insert(secondSlot, at: min(max(symbolPosition, timePosition), slots.count))
        return slots
    }

    public func columnIndex(_ name: String) -> Int? {
        columns.firstIndex { sameBytes($0.name, name) }
    }

    /// Checks names and limits; throws a bad-input error naming what is wrong.
    public func validate() throws(StrataError) {
        if columns.count > Limits.valueColumnsMax {
            throw .badInput("a table can have at most \(Limits.valueColumnsMax) value columns, not \(columns.count)")
        }
        var seen = Set<ByteString>()
        for name in [symbolColumn, timeColumn] + columns.map(\.name) {
            try Self.validateColumnName(name)
            if !seen.insert(ByteString(name)).inserted {
                throw .badInput("column name '\(name)' appears twice")
            }
        }
        let n = columns.count + 2
        if symbolPosition < 0 || timePosition < 0 || symbolPosition >= n || timePosition >= n
            || symbolPosition == timePosition {
            throw .badInput("symbol and time column positions \(symbolPosition), \(timePosition) are invalid")
        }
    }

    static func validateColumnName(_ name: String) throws(StrataError) {
        if name.isEmpty { throw .badInput("a column name is empty") }
        if name.utf8.count > Limits.columnNameBytesMax {
            throw .badInput("column name '\(name.prefix(40))…' is longer than \(Limits.columnNameBytesMax) bytes")
        }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw .badInput("column name '\(name.debugDescription)' contains a control character")
        }
    }

    /// Table names become part of error messages and listings, never of file paths; still, keep them
    /// to letters, digits and `_ - .`, not starting with a dot.
    public static func validateTableName(_ name: String) throws(StrataError) {
        if name.isEmpty { throw .badInput("a table name is empty") }
        if name.utf8.count > Limits.tableNameBytesMax {
            throw .badInput("table name '\(name.prefix(40))…' is longer than \(Limits.tableNameBytesMax) bytes")
        }
        let ok = name.unicodeScalars.allSatisfy { s in
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "_" || s == "-" || s == "."
        }
        if !ok || name.hasPrefix(".") {
            throw .badInput(
                "table name '\(name.debugDescription.dropFirst().dropLast())' may hold only letters, digits, '_', '-' and '.', and may not start with '.'"
            )
        }
    }

    public static func validateSymbol(_ symbol: String) throws(StrataError) {
        if symbol.isEmpty { throw .badInput("a symbol is empty") }
        if symbol.utf8.count > Limits.symbolBytesMax {
            throw .badInput("symbol '\(symbol.prefix(40))…' is longer than \(Limits.symbolBytesMax) bytes")
        }
    }
}
