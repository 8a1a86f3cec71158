/// One value of a query result.
public enum ResultValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case int(Int64)
    case float(Double)
    case string(String)

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
    case int64, float64, string
}

/// A column of a query result; nil is SQL null.
public enum ResultColumn: Sendable {
    case int64([Int64?])
    case float64([Double?])
    case string([String?])

    public var count: Int {
        switch self {
        case .int64(let v): v.count
        case .float64(let v): v.count
        case .string(let v): v.count
        }
    }

    public var type: ResultType {
        switch self {
        case .int64: .int64
        case .float64: .float64
        case .string: .string
        }
    }

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

    /// A column of `count` values of `type`, by the same conversions as `append`.
    init(_ type: ResultType, count: Int, _ value: (Int) throws(StrataError) -> ResultValue) throws(StrataError) {
        switch type {
        case .int64:
            var a: [Int64?] = []
            a.reserveCapacity(count)
            for r in 0..<count {
                if case .int(let x) = try value(r) { a.append(x) } else { a.append(nil) }
            }
            self = .int64(a)
        case .float64:
            var a: [Double?] = []
            a.reserveCapacity(count)
            for r in 0..<count {
                switch try value(r) {
                case .float(let x): a.append(x)
                case .int(let x): a.append(Double(x))
                default: a.append(nil)
                }
            }
            self = .float64(a)
        case .string:
            var a: [String?] = []
            a.reserveCapacity(count)
            for r in 0..<count {
                if case .string(let x) = try value(r) { a.append(x) } else { a.append(nil) }
            }
            self = .string(a)
        }
    }

    mutating func append(_ v: ResultValue) {
        switch (self, v) {
        case (.int64(var a), .int(let x)): self = .int64([]); a.append(x); self = .int64(a)
        case (.int64(var a), _): self = .int64([]); a.append(nil); self = .int64(a)
        case (.float64(var a), .float(let x)): self = .float64([]); a.append(x); self = .float64(a)
        case (.float64(var a), .int(let x)): self = .float64([]); a.append(Double(x)); self = .float64(a)
        case (.float64(var a), _): self = .float64([]); a.append(nil); self = .float64(a)
        case (.string(var a), .string(let x)): self = .string([]); a.append(x); self = .string(a)
        case (.string(var a), _): self = .string([]); a.append(nil); self = .string(a)
        }
    }

    mutating func append(contentsOf other: ResultColumn) {
        switch (self, other) {
        case (.int64(var a), .int64(let b)): self = .int64([]); a.append(contentsOf: b); self = .int64(a)
        case (.float64(var a), .float64(let b)): self = .float64([]); a.append(contentsOf: b); self = .float64(a)
        case (.string(var a), .string(let b)): self = .string([]); a.append(contentsOf: b); self = .string(a)
        default: preconditionFailure("result columns of different types")
        }
    }

    func gather(_ rows: [Int]) -> ResultColumn {
        switch self {
        case .int64(let v): .int64(rows.map { v[$0] })
        case .float64(let v): .float64(rows.map { v[$0] })
        case .string(let v): .string(rows.map { v[$0] })
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
    public var names: [String]
    public var columns: [ResultColumn]

    public var rowCount: Int { columns.first?.count ?? 0 }
    public var types: [ResultType] { columns.map(\.type) }

    public init(names: [String], columns: [ResultColumn]) {
        self.names = names
        self.columns = columns
    }

    init(names: [String], types: [ResultType]) {
        self.names = names
        self.columns = types.map(ResultColumn.init)
    }

    public subscript(row: Int, column: Int) -> ResultValue { columns[column][row] }

    /// The rows as arrays of values (allocates per row: for tests and small results).
    public var rows: [[ResultValue]] {
        (0..<rowCount).map { r in columns.map { $0[r] } }
    }

    mutating func append(_ other: QueryResult) {
        for c in columns.indices { columns[c].append(contentsOf: other.columns[c]) }
    }
}
