/// One row group's columns converted to Strata's values: text, Int64 and Float64 exactly, times into
/// the table's unit. Every refusal names the file, the column and the row group.
struct ParquetRowGroupSource {
    let file: ParquetFile
    let rowGroup: Int
    let partitions: [(name: String, value: String)]

    private var rows: Int { file.rowGroups[rowGroup].rows }

    private func what(_ name: String) -> String { "\(file.path), column \(name), row group \(rowGroup)" }

    private func leaf(_ name: String) -> Int? { file.leaves.firstIndex { $0.name == name } }

    private func partition(_ name: String) -> String? { partitions.first { $0.name == name }?.value }

    func symbols(_ name: String) throws(StrataError) -> [String] {
        if let value = partition(name) { return Array(repeating: value, count: rows) }
        guard let c = leaf(name) else { throw .badInput("\(file.path) has no symbol column '\(name)'") }
        let data = try file.read(rowGroup: rowGroup, column: c)
        if data.nulls.contains(true) { throw .badInput("\(what(name)): a row has no symbol (the symbol column is required)") }
        switch ParquetKind(file.leaves[c]) {
        case .text: return data.strings
        case .integer:  // a run of one symbol's rows converts its number once
            var out: [String] = []
            out.reserveCapacity(data.ints.count)
            var last: (Int64, String)? = nil
            for v in data.ints {
                if last?.0 != v { last = (v, String(v)) }
                out.append(last!.1)
            }
            return out
        case let kind: throw .badInput("\(what(name)): the symbol column holds \(ParquetImportPlan.describe(kind)), not text")
        }
    }

    func times(_ name: String, unit: TimeUnit) throws(StrataError) -> [Int64] {
        guard let c = leaf(name) else { throw .badInput("\(file.path) has no time column '\(name)' (a partition cannot be the time)") }
        let data = try file.read(rowGroup: rowGroup, column: c)
        if data.nulls.contains(true) { throw .badInput("\(what(name)): a row has no time (the time column is required)") }
        let target = unit.perSecond
        switch ParquetKind(file.leaves[c]) {
        case .timestamp(let p): return try Self.convert(data.ints, from: p, to: target, what: what(name))
        case .date: return try Self.convert(data.ints, from: 1, to: target, scale: 86_400, what: what(name))
        case .integer(false): return data.ints
        case let kind: throw .badInput("\(what(name)): the time column holds \(ParquetImportPlan.describe(kind)), not timestamps or integers")
        }
    }

    /// Instants `perSecond` to the second (times `scale`) in units `target` to the second, refused
    /// where not exact or out of range.
    private static func convert(_ v: [Int64], from p: Int64, to target: Int64, scale: Int64 = 1, what: String) throws(StrataError) -> [Int64] {
        if p == target && scale == 1 { return v }
        var out: [Int64] = []
        out.reserveCapacity(v.count)
        for x in v {
            var (y, overflow) = x.multipliedReportingOverflow(by: scale)
            if target >= p {
                let m = target / p
                (y, overflow) = overflow ? (0, true) : y.multipliedReportingOverflow(by: m)
            } else {
                let d = p / target
                if y % d != 0 { throw .badInput("\(what): the time \(x) is not a whole number of the table's units (1/\(target) s); import into a table with a finer --time-unit") }
                y /= d
            }
            if overflow { throw .badInput("\(what): the time \(x) is out of the table's 64-bit range") }
            out.append(y)
        }
        return out
    }

    func column(_ name: String, type: ColumnType, rows n: Int) throws(StrataError) -> ColumnBuffer {
        var b = ColumnBuffer(type: type)
        if let value = partition(name) { return try Self.partitionColumn(value, type: type, rows: n, what: what(name)) }
        guard let c = leaf(name) else {
            // A column the file lacks: null in its rows.
            for _ in 0..<n { b.appendNull() }
            return b
        }
        let data = try file.read(rowGroup: rowGroup, column: c)
        let kind = ParquetKind(file.leaves[c])
        func mismatch() -> StrataError {
            .badInput("\(what(name)): \(ParquetImportPlan.describe(kind)) values do not go into the table's \(type) column")
        }
        switch (kind, type) {
        case (.text, .string): b.strings = data.strings
        case (.integer, .int64), (.timestamp, .int64), (.date, .int64):
            if kind == .integer(unsigned64: true), let i = data.ints.indices.first(where: { data.ints[$0] < 0 && !(data.nulls.indices.contains($0) && data.nulls[$0]) }) {
                throw .badInput("\(what(name)): the unsigned value \(UInt64(bitPattern: data.ints[i])) does not fit in int64")
            }
            b.bits = data.ints
        case (.integer, .float64):
            for x in data.ints where x.magnitude > 1 << 53 { throw .badInput("\(what(name)): the integer \(x) has no exact float64") }
            b.bits = data.ints.map { Int64(bitPattern: Double($0).bitPattern) }
        case (.real, .float64): b.bits = data.doubles.map { Int64(bitPattern: $0.bitPattern) }
        case (.decimal(let scale), .float64): b.bits = try Self.decimals(data.ints, scale: scale, what: what(name))
        case (.decimal(0), .int64): b.bits = data.ints
        default: throw mismatch()
        }
        if data.nulls.contains(true) { b.nulls = data.nulls }
        return b
    }

    /// Unscaled decimals as the nearest Float64, refused when the unscaled value or the scale is
    /// beyond what one correctly rounded division gives exactly.
    private static func decimals(_ v: [Int64], scale: Int, what: String) throws(StrataError) -> [Int64] {
        guard scale >= 0, scale <= 22 else { throw .badInput("\(what): a DECIMAL scale of \(scale) has no exact float64") }
        let p = powersOfTen[scale]
        var out: [Int64] = []
        out.reserveCapacity(v.count)
        for x in v {
            guard x.magnitude <= 1 << 53 else { throw .badInput("\(what): the decimal \(x)e-\(scale) has no exact float64") }
            out.append(Int64(bitPattern: (Double(x) / p).bitPattern))
        }
        return out
    }

    /// A partition value (path text) as a column of `type`.
    private static func partitionColumn(_ value: String, type: ColumnType, rows n: Int, what: String) throws(StrataError) -> ColumnBuffer {
        var b = ColumnBuffer(type: type)
        switch type {
        case .string: b.strings = Array(repeating: value, count: n)
        case .int64:
            guard let v = Int64(value) else { throw .badInput("\(what): the partition value '\(value)' is not an int64") }
            b.bits = Array(repeating: v, count: n)
        case .float64:
            guard let d = Double(value) else { throw .badInput("\(what): the partition value '\(value)' is not a float64") }
            b.bits = Array(repeating: Int64(bitPattern: d.bitPattern), count: n)
        }
        return b
    }
}
