/// One value of a query result.
public enum ResultValue: Sendable, Equatable, CustomStringConvertible {
    /// No value.
    case null
    /// An integer.
    case int(Int64)
    /// A double.
    case float(Double)
    /// Text.
    case string(String)

    /// Equal values; text compares by its UTF-8 bytes, as symbols do (not as Unicode text).
    public static func == (a: ResultValue, b: ResultValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.int(let x), .int(let y)): x == y
        case (.float(let x), .float(let y)): x == y
        case (.string(let x), .string(let y)): sameBytes(x, y)
        default: false
        }
    }

    /// The value as text (`null` for a null).
    public var description: String {
        switch self {
        case .null: "null"
        case .int(let v): String(v)
        case .float(let d): "\(d)"
        case .string(let s): s
        }
    }

    var double: Double? {
        switch self {
        case .int(let v): Double(v)
        case .float(let d): d
        case .null, .string: nil
        }
    }
}

/// The type of a result column.
public enum ResultType: String, Sendable {
    /// Integers.
    case int64
    /// Doubles.
    case float64
    /// Text.
    case string

    /// The type of a stored column's values.
    init(_ type: ColumnType) {
        switch type {
        case .int64: self = .int64
        case .float64: self = .float64
        case .string: self = .string
        }
    }
}

/// A column of a query result; nil is SQL null.
public enum ResultColumn: Sendable {
    /// Integers, nil for null.
    case int64([Int64?])
    /// Doubles, nil for null.
    case float64([Double?])
    /// Text, nil for null.
    case string([String?])

    /// The number of rows.
    public var count: Int {
        switch self {
        case .int64(let v): v.count
        case .float64(let v): v.count
        case .string(let v): v.count
        }
    }

    /// The type of the values.
    public var type: ResultType {
        switch self {
        case .int64: .int64
        case .float64: .float64
        case .string: .string
        }
    }

    /// The value of row `row`.
    public subscript(row: Int) -> ResultValue {
        switch self {
        case .int64(let v): v[row].map(ResultValue.int) ?? .null
        case .float64(let v): v[row].map(ResultValue.float) ?? .null
        case .string(let v): v[row].map(ResultValue.string) ?? .null
        }
    }

    init(_ type: ResultType) {
        switch type {
        case .int64: self = .int64([])
        case .float64: self = .float64([])
        case .string: self = .string([])
        }
    }

    /// The conversions a column applies to a value: an int64 column takes ints, a float64 column floats
    /// and ints, a string column strings; anything else is null.
    private static func int(_ v: ResultValue) -> Int64? {
        if case .int(let x) = v { x } else { nil }
    }
    private static func float(_ v: ResultValue) -> Double? {
        switch v {
        case .float(let x): x
        case .int(let x): Double(x)
        default: nil
        }
    }
    private static func string(_ v: ResultValue) -> String? {
        if case .string(let x) = v { x } else { nil }
    }

    /// A column of `count` values of `type`.
    init(_ type: ResultType, count: Int, _ value: (Int) throws(StrataError) -> ResultValue) throws(StrataError) {
        switch type {
        case .int64:
            var a: [Int64?] = []
            a.reserveCapacity(count)
            for r in 0..<count { a.append(Self.int(try value(r))) }
            self = .int64(a)
        case .float64:
            var a: [Double?] = []
            a.reserveCapacity(count)
            for r in 0..<count { a.append(Self.float(try value(r))) }
            self = .float64(a)
        case .string:
            var a: [String?] = []
            a.reserveCapacity(count)
            for r in 0..<count { a.append(Self.string(try value(r))) }
            self = .string(a)
        }
    }

    mutating func append(_ v: ResultValue) {
        switch self {
        case .int64(var a): self = .int64([]); a.append(Self.int(v)); self = .int64(a)
        case .float64(var a): self = .float64([]); a.append(Self.float(v)); self = .float64(a)
        case .string(var a): self = .string([]); a.append(Self.string(v)); self = .string(a)
        }
    }

    /// Appends `other`'s values (of the same type) in place: `self` is switched on alone, as a
    /// tuple of the two would hold a second reference to the storage and make every append copy it.
    mutating func append(contentsOf other: ResultColumn) {
        switch self {
        case .int64(var a):
            guard case .int64(let b) = other else { preconditionFailure("result columns of different types") }
            self = .int64([]); a.append(contentsOf: b); self = .int64(a)
        case .float64(var a):
            guard case .float64(let b) = other else { preconditionFailure("result columns of different types") }
            self = .float64([]); a.append(contentsOf: b); self = .float64(a)
        case .string(var a):
            guard case .string(let b) = other else { preconditionFailure("result columns of different types") }
            self = .string([]); a.append(contentsOf: b); self = .string(a)
        }
    }

    func gather(_ rows: [Int]) -> ResultColumn {
        switch self {
        case .int64(let v): .int64(Array(gathering: v, at: rows))
        case .float64(let v): .float64(Array(gathering: v, at: rows))
        case .string(let v): .string(Array(gathering: v, at: rows))
        }
    }

    mutating func reserveCapacity(_ n: Int) {
        switch self {
        case .int64(var a): self = .int64([]); a.reserveCapacity(n); self = .int64(a)
        case .float64(var a): self = .float64([]); a.reserveCapacity(n); self = .float64(a)
        case .string(var a): self = .string([]); a.reserveCapacity(n); self = .string(a)
        }
    }

    mutating func removeAll() {
        switch self {
        case .int64(var a): self = .int64([]); a.removeAll(keepingCapacity: true); self = .int64(a)
        case .float64(var a): self = .float64([]); a.removeAll(keepingCapacity: true); self = .float64(a)
        case .string(var a): self = .string([]); a.removeAll(keepingCapacity: true); self = .string(a)
        }
    }
}

/// The rows of a query, column by column.
public struct QueryResult: Sendable {
    /// The column names, in select-list order.
    public var names: [String]
    /// The columns, in select-list order.
    public var columns: [ResultColumn]

    /// The number of rows.
    public var rowCount: Int { columns.first?.count ?? 0 }
    /// The type of each column.
    public var types: [ResultType] { columns.map(\.type) }

    /// A result of these columns (of equal length).
    public init(names: [String], columns: [ResultColumn]) {
        self.names = names
        self.columns = columns
    }

    init(names: [String], types: [ResultType]) {
        self.names = names
        self.columns = types.map(ResultColumn.init)
    }

    /// The value at `row` of `column`.
    public subscript(row: Int, column: Int) -> ResultValue { columns[column][row] }

    /// The column named `name` (the first, if several share it), or nil.
    public subscript(name: String) -> ResultColumn? {
        names.firstIndex { sameBytes($0, name) }.map { columns[$0] }
    }

    /// The rows as arrays of values (allocates per row: for tests and small results).
    public var rows: [[ResultValue]] {
        (0..<rowCount).map { r in columns.map { $0[r] } }
    }

    mutating func append(_ other: QueryResult) {
        for c in columns.indices { columns[c].append(contentsOf: other.columns[c]) }
    }

    /// The rows of `parts`, one part after the other, each column allocated once.
    init(names: [String], types: [ResultType], concatenating parts: [QueryResult]) {
        self.init(names: names, types: types)
        let rows = parts.reduce(0) { $0 + $1.rowCount }
        for c in columns.indices {
            columns[c].reserveCapacity(rows)
            for part in parts { columns[c].append(contentsOf: part.columns[c]) }
        }
    }
}
