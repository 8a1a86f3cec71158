/// One value of a row, for the simple row API.
public enum Value: Sendable, Equatable {
    /// An int64 value.
    case int64(Int64)
    /// A float64 value.
    case float64(Double)
    /// A text value.
    case string(String)
    /// No value (an empty CSV field; a column added after the row was written).
    case null

    /// Whether the value may go into a column of `type` (null goes anywhere).
    func fits(_ type: ColumnType) -> Bool {
        switch (self, type) {
        case (.null, _), (.int64, .int64), (.float64, .float64), (.string, .string): true
        default: false
        }
    }

    /// Equal with Float64 compared by bit pattern (NaN equals the same NaN) and text by bytes:
    /// what "comes back exactly" means.
    public func isIdentical(to other: Value) -> Bool {
        switch (self, other) {
        case (.int64(let a), .int64(let b)): a == b
        case (.float64(let a), .float64(let b)): a.bitPattern == b.bitPattern
        case (.string(let a), .string(let b)): sameBytes(a, b)
        case (.null, .null): true
        default: false
        }
    }
}

/// One column of a batch, for the columnar append API. The optional forms carry nulls.
public enum ColumnValues: Sendable {
    /// Int64 values, none null.
    case int64([Int64])
    /// Float64 values, none null.
    case float64([Double])
    /// Int64 values, nil for null.
    case optionalInt64([Int64?])
    /// Float64 values, nil for null.
    case optionalFloat64([Double?])
    /// Text values, nil for null.
    case string([String?])

    var count: Int {
        switch self {
        case .int64(let v): v.count
        case .float64(let v): v.count
        case .optionalInt64(let v): v.count
        case .optionalFloat64(let v): v.count
        case .string(let v): v.count
        }
    }

    func fits(_ type: ColumnType) -> Bool {
        switch (self, type) {
        case (.int64, .int64), (.optionalInt64, .int64), (.float64, .float64), (.optionalFloat64, .float64), (.string, .string): true
        default: false
        }
    }

    /// The values as a column buffer.
    var buffer: ColumnBuffer {
        var b: ColumnBuffer
        switch self {
        case .string: b = ColumnBuffer(type: .string)
        default: b = ColumnBuffer(type: .int64)
        }
        switch self {
        case .int64(let v): b.bits = v
        case .float64(let v): b.bits = v.map { Int64(bitPattern: $0.bitPattern) }
        case .optionalInt64(let v): for x in v { if let x { b.append(x) } else { b.appendNull() } }
        case .optionalFloat64(let v): for x in v { if let x { b.append(Int64(bitPattern: x.bitPattern)) } else { b.appendNull() } }
        case .string(let v): for x in v { if let x { b.append(string: x) } else { b.appendNull() } }
        }
        return b
    }
}

/// One value column of rows on their way into a block. Numbers are 64-bit patterns in `bits`
/// (Int64 values, Float64 bits); text is in `strings`; the other stays empty. `nulls` marks null
/// rows (their value is a placeholder, 0 or "") and stays empty while no row is null: a column
/// without nulls costs nothing for them.
struct ColumnBuffer: Sendable {
    let isText: Bool
    var bits: [Int64] = []
    var strings: [String] = []
    var nulls: [Bool] = []

    init(type: ColumnType) { isText = type == .string }

    /// A number column of `bits`, without nulls.
    init(bits: [Int64]) {
        isText = false
        self.bits = bits
    }

    private init(text: Bool) { isText = text }

    var count: Int { isText ? strings.count : bits.count }
    var hasNulls: Bool { !nulls.isEmpty }

    @inline(__always)
    func isNull(_ r: Int) -> Bool { !nulls.isEmpty && nulls[r] }

    /// Starts the null marks at the first null: every row before it is a value.
    @inline(__always)
    private mutating func markNull(at row: Int) {
        if nulls.isEmpty { nulls = [Bool](repeating: false, count: row) }
        nulls.append(true)
    }

    @inline(__always)
    mutating func append(_ value: Int64) {
        if !nulls.isEmpty { nulls.append(false) }
        bits.append(value)
    }

    mutating func append(string: String) {
        if !nulls.isEmpty { nulls.append(false) }
        strings.append(string)
    }

    /// Appends a null: a placeholder in the storage the column uses.
    mutating func appendNull() {
        markNull(at: count)
        if isText { strings.append("") } else { bits.append(0) }
    }

    mutating func append(_ value: Value) {
        switch value {
        case .int64(let v): append(v)
        case .float64(let d): append(Int64(bitPattern: d.bitPattern))
        case .string(let s): append(string: s)
        case .null: appendNull()
        }
    }

    /// Row `r` of `other`, a column of the same type.
    @inline(__always)
    mutating func append(from other: ColumnBuffer, row r: Int) {
        if other.isNull(r) {
            appendNull()
        } else if other.isText {
            append(string: other.strings[r])
        } else {
            append(other.bits[r])
        }
    }

    /// Rows `range` of `other`, a column of the same type.
    mutating func append(contentsOf other: ColumnBuffer, _ range: Range<Int>) {
        if range.isEmpty { return }
        let before = count
        if other.isText { strings.append(contentsOf: other.strings[range]) } else { bits.append(contentsOf: other.bits[range]) }
        if other.hasNulls, other.nulls[range].contains(true) {
            if nulls.isEmpty { nulls = [Bool](repeating: false, count: before) }
            nulls.append(contentsOf: other.nulls[range])
        } else if !nulls.isEmpty {
            nulls.append(contentsOf: repeatElement(false, count: range.count))
        }
    }

    /// The rows at `rows`, in that order.
    func gather(_ rows: some Collection<Int>) -> ColumnBuffer {
        var out = ColumnBuffer(text: isText)
        if isText { out.strings = rows.map { strings[$0] } } else { out.bits = rows.map { bits[$0] } }
        if hasNulls {
            let n = rows.map { nulls[$0] }
            if n.contains(true) { out.nulls = n }
        }
        return out
    }

    /// Removes and returns the last row.
    mutating func removeLast() -> ColumnBuffer {
        let r = count - 1
        let last = gather([r])
        if isText { strings.removeLast() } else { bits.removeLast() }
        if hasNulls { nulls.removeLast() }
        if !nulls.contains(true) { nulls = [] }
        return last
    }

    mutating func removeAll(keepingCapacity keep: Bool = false) {
        bits.removeAll(keepingCapacity: keep)
        strings.removeAll(keepingCapacity: keep)
        nulls.removeAll(keepingCapacity: keep)
    }

    mutating func reserveCapacity(_ n: Int, type: ColumnType) {
        if type == .string { strings.reserveCapacity(n) } else { bits.reserveCapacity(n) }
    }

    /// The value of row `r` in a column of `type`.
    func value(_ r: Int, type: ColumnType) -> Value {
        if isNull(r) { return .null }
        switch type {
        case .int64: return .int64(bits[r])
        case .float64: return .float64(Double(bitPattern: UInt64(bitPattern: bits[r])))
        case .string: return .string(strings[r])
        }
    }
}
