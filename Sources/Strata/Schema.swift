/// The type of a value column.
public enum ColumnType: UInt8, Sendable, CaseIterable, CustomStringConvertible, Codable {
    /// 64-bit signed integers.
    case int64 = 1
    /// IEEE 754 doubles, stored with their exact bits (NaN, -0.0 and subnormals included).
    case float64 = 2
    /// UTF-8 text, kept as bytes (compared and ordered by them).
    case string = 3

    /// `int64`, `float64` or `string` (as in `--types` and `alter --add-column NAME:TYPE`).
    public init?(name: String) {
        guard let t = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = t
    }

    /// `int64`, `float64` or `string`.
    public var description: String {
        switch self {
        case .int64: "int64"
        case .float64: "float64"
        case .string: "string"
        }
    }
}

/// The unit of a table's Int64 timestamps.
public enum TimeUnit: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Seconds (`s`).
    case seconds = 1
    /// Milliseconds (`ms`), the default.
    case milliseconds = 2
    /// Microseconds (`us`).
    case microseconds = 3
    /// Nanoseconds (`ns`).
    case nanoseconds = 4

    /// The unit named `s`, `ms`, `us` or `ns`.
    public init?(name: String) {
        switch name {
        case "s": self = .seconds
        case "ms": self = .milliseconds
        case "us": self = .microseconds
        case "ns": self = .nanoseconds
        default: return nil
        }
    }

    /// `s`, `ms`, `us` or `ns`.
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

/// A value column of a table. Every value column may hold nulls.
public struct Column: Sendable, Equatable {
    /// The column's name (unique in its table, case-sensitive).
    public var name: String
    /// The type of its values.
    public var type: ColumnType
    /// The column's id in its table, which blocks name it by: given in order when the table is
    /// created (0, 1, ...) and when a column is added, never given twice. A rename keeps it.
    public internal(set) var id: UInt32

    /// A column named `name` of `type` (its id is given when the table is created or the column added).
    public init(_ name: String, _ type: ColumnType) {
        self.init(name, type, id: 0)
    }

    init(_ name: String, _ type: ColumnType, id: UInt32) {
        self.name = name
        self.type = type
        self.id = id
    }
}

/// A table's schema: a text symbol key, an Int64 timestamp, and typed value columns.
///
/// `symbolPosition` and `timePosition` remember where the key columns stood in the imported
/// header, so that a dump writes the columns back in the order they came in.
public struct Schema: Sendable, Equatable {
    /// The name of the symbol (key) column.
    public var symbolColumn: String
    /// The name of the time column.
    public var timeColumn: String
    /// The unit of the times: counts of it since 1970-01-01 UTC.
    public var timeUnit: TimeUnit
    /// The value columns, in order.
    public var columns: [Column]
    /// The place of the symbol column in the header (CSV and dumps).
    public var symbolPosition: Int
    /// The place of the time column in the header (CSV and dumps).
    public var timePosition: Int
    /// (symbol, time) is the table's key: it keeps one row per key, and a write replaces every
    /// existing row with the same key (within one transaction, the last row written for a key wins).
    /// Without it, rows with equal keys are all kept, in the order they were written.
    public var dedup: Bool
    /// The id the next added column gets: above every id the table ever used.
    public internal(set) var nextColumnID: UInt32

    /// A new table's schema: the value columns get ids 0, 1, ... in order.
    public init(
        symbolColumn: String = "symbol", timeColumn: String = "ts", timeUnit: TimeUnit = .milliseconds,
        columns: [Column], symbolPosition: Int = 0, timePosition: Int = 1, dedup: Bool = false
    ) {
        self.symbolColumn = symbolColumn
        self.timeColumn = timeColumn
        self.timeUnit = timeUnit
        self.columns = columns.enumerated().map { Column($1.name, $1.type, id: UInt32($0)) }
        self.symbolPosition = symbolPosition
        self.timePosition = timePosition
        self.dedup = dedup
        self.nextColumnID = UInt32(columns.count)
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

    /// A place in the header: the symbol, the time, or value column `c`.
    public enum Slot: Equatable, Sendable {
        /// The symbol column.
        case symbol
        /// The time column.
        case time
        /// Value column `c` (an index into `columns`).
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

    /// The index in `columns` of the column named `name`, or nil.
    public func columnIndex(_ name: String) -> Int? {
        columns.firstIndex { sameBytes($0.name, name) }
    }

    /// The index of the column with id `id`.
    func columnIndex(id: UInt32) -> Int? {
        columns.firstIndex { $0.id == id }
    }

    /// The position in the header order of value column `index`.
    private func headerPosition(ofValue index: Int) -> Int {
        headerLayout.firstIndex(of: .value(index))!
    }

    // MARK: Changing columns (metadata only: blocks name their columns by id)

    /// Adds a column after every other (last in the header order); older rows read it as null.
    mutating func addColumn(_ name: String, _ type: ColumnType) throws(StrataError) {
        if columnIndex(name) != nil || sameBytes(name, symbolColumn) || sameBytes(name, timeColumn) {
            throw .badInput("the table already has a column named '\(name)'")
        }
        columns.append(Column(name, type, id: nextColumnID))
        nextColumnID += 1
        try validate()
    }

    /// Drops a value column; the symbol and time columns cannot be dropped.
    mutating func dropColumn(_ name: String) throws(StrataError) {
        if sameBytes(name, symbolColumn) || sameBytes(name, timeColumn) {
            throw .badInput("'\(name)' is the table's \(sameBytes(name, symbolColumn) ? "symbol" : "time") column, which cannot be dropped")
        }
        guard let i = columnIndex(name) else { throw noColumn(name) }
        if columns.count == 1 { throw .badInput("'\(name)' is the table's only value column; a table keeps at least one") }
        let position = headerPosition(ofValue: i)
        columns.remove(at: i)
        if symbolPosition > position { symbolPosition -= 1 }
        if timePosition > position { timePosition -= 1 }
    }

    /// Renames a column (the symbol and time columns too); its id, type and values stay.
    mutating func renameColumn(_ old: String, to new: String) throws(StrataError) {
        if sameBytes(old, new) { return }
        if columnIndex(new) != nil || sameBytes(new, symbolColumn) || sameBytes(new, timeColumn) {
            throw .badInput("cannot rename '\(old)' to '\(new)': the table already has a column named '\(new)'")
        }
        if sameBytes(old, symbolColumn) {
            symbolColumn = new
        } else if sameBytes(old, timeColumn) {
            timeColumn = new
        } else if let i = columnIndex(old) {
            columns[i].name = new
        } else {
            throw noColumn(old)
        }
        try validate()
    }

    func noColumn(_ name: String) -> StrataError {
        .badInput("the table has no column '\(name)' (columns: \(headerNames.joined(separator: ", ")))")
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
        if Set(columns.map(\.id)).count != columns.count || columns.contains(where: { $0.id >= nextColumnID }) {
            throw .badInput("column ids \(columns.map(\.id)) are not unique or not below \(nextColumnID)")
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

    /// Checks a symbol: 1 to 255 bytes of UTF-8, no control characters.
    public static func validateSymbol(_ symbol: String) throws(StrataError) {
        if symbol.isEmpty { throw .badInput("a symbol is empty") }
        if symbol.utf8.count > Limits.symbolBytesMax {
            throw .badInput("symbol '\(symbol.prefix(40))…' is longer than \(Limits.symbolBytesMax) bytes")
        }
    }
}
