/// What a Parquet column holds, as an import sees it.
enum ParquetKind: Equatable {
    case text
    case integer(unsigned64: Bool)
    case real
    /// Unscaled integers of a DECIMAL(precision, scale).
    case decimal(scale: Int)
    /// INT64 (or INT96) instants, `perSecond` to the second.
    case timestamp(perSecond: Int64)
    /// INT32 days since 1970-01-01.
    case date
    case unsupported(String)

    init(_ leaf: ParquetLeaf) {
        switch (leaf.physical, leaf.logical) {
        case (_, .other(let name)): self = .unsupported(name)
        case (.int96, _): self = .timestamp(perSecond: 1_000_000_000)
        case (_, .decimal(let scale, _)): self = .decimal(scale: scale)
        case (.int32, .date): self = .date
        case (.int64, .timestamp(let p)): self = .timestamp(perSecond: p)
        case (.byteArray, .string), (.byteArray, .none), (.fixedLenByteArray, .string): self = .text
        case (.fixedLenByteArray, _): self = .unsupported("fixed-length byte arrays")
        case (.float, _), (.double, _): self = .real
        case (.int64, .integer(64, false)): self = .integer(unsigned64: true)
        case (.boolean, _), (.int32, _), (.int64, _): self = .integer(unsigned64: false)
        default: self = .unsupported("\(leaf.physical) with \(leaf.logical)")
        }
    }

    /// The type of a new table's column.
    var columnType: ColumnType? {
        switch self {
        case .text: .string
        case .integer, .timestamp, .date: .int64
        case .real, .decimal: .float64
        case .unsupported: nil
        }
    }
}

/// The plan of one import: the table's schema and, per file, where each table column comes from.
struct ParquetImportPlan {
    let table: String
    let options: CSVImportOptions
    private(set) var schema: Schema
    private(set) var created = false
    private(set) var rows = 0
    /// Every input column's kind, by name (partition columns are text).
    private var kinds: [String: ParquetKind] = [:]
    private var derived: Set<String> = []

    init(
        files: [ParquetDataSet.File], parsed: [ParquetFile], root: String, table: String, options: CSVImportOptions, tx: Transaction
    ) throws(StrataError) {
        self.table = table
        self.options = options
        let (order, kinds, derived) = try Self.survey(files, parsed, symbolColumn: options.symbolColumn)
        self.kinds = kinds
        self.derived = derived
        for name in options.types.keys.sorted() where kinds[name] == nil {
            throw .badInput("--types names column '\(name)', which \(root) does not have (columns: \(order.joined(separator: ", ")))")
        }
        guard kinds[options.symbolColumn] != nil else {
            throw .badInput("\(root) has no symbol column '\(options.symbolColumn)' (columns: \(order.joined(separator: ", "))); name it with --symbol-column")
        }
        guard let timeKind = kinds[options.timeColumn] else {
            throw .badInput("\(root) has no time column '\(options.timeColumn)' (columns: \(order.joined(separator: ", "))); name it with --time-column")
        }
        if let existing = try tx.schema(of: table) {
            schema = try Self.prepare(existing, order: order, kinds: kinds, root: root, table: table, options: options, tx: tx)
        } else {
            var unit = options.timeUnit ?? .milliseconds
            if options.timeUnit == nil, case .timestamp(let p) = timeKind { unit = p == 1_000 ? .milliseconds : p == 1_000_000 ? .microseconds : .nanoseconds }
            schema = try Self.newSchema(order: order, kinds: kinds, unit: unit, root: root, options: options)
            try tx.createTable(table, schema: schema)
            created = true
        }
    }

    /// Every file's columns (partitions included, derived ones left out) in first-seen order, with
    /// their kinds, which must agree across files.
    private static func survey(
        _ files: [ParquetDataSet.File], _ parsed: [ParquetFile], symbolColumn: String
    ) throws(StrataError) -> ([String], [String: ParquetKind], Set<String>) {
        var order: [String] = []
        var kinds: [String: ParquetKind] = [:]
        var derived: Set<String> = []
        var symbolPosition: Int?
        for (file, parquet) in zip(files, parsed) {
            if symbolPosition == nil { symbolPosition = parquet.keyValues[ParquetImporter.symbolPositionKey].flatMap { Int($0) } }
            derived.formUnion((parquet.keyValues[ParquetImporter.derivedPartitionsKey] ?? "").split(separator: ",").map(String.init))
            let partitions = file.partitions.filter { !derived.contains($0.name) }
            let columns = parquet.leaves.map { ($0.name, ParquetKind($0)) } + partitions.map { ($0.name, ParquetKind.text) }
            for (name, kind) in columns {
                if let known = kinds[name] {
                    if known != kind { throw .badInput("\(file.path), column \(name): \(describe(kind)) where an earlier file has \(describe(known))") }
                } else {
                    kinds[name] = kind
                    order.append(name)
                }
            }
        }
        // A symbol column that came from the path goes back to its place in the exported table.
        if let p = symbolPosition, p >= 0, p < order.count, let i = order.firstIndex(of: symbolColumn), i == order.count - 1 {
            order.insert(order.removeLast(), at: p)
        }
        return (order, kinds, derived)
    }

    private static func newSchema(
        order: [String], kinds: [String: ParquetKind], unit: TimeUnit, root: String, options: CSVImportOptions
    ) throws(StrataError) -> Schema {
        var columns: [Column] = []
        for name in order where name != options.symbolColumn && name != options.timeColumn {
            guard let type = options.types[name] ?? kinds[name]!.columnType else {
                throw .badInput("\(root), column \(name): \(Self.describe(kinds[name]!)) is not a type Strata imports")
            }
            columns.append(Column(name, type))
        }
        let schema = Schema(
            symbolColumn: options.symbolColumn, timeColumn: options.timeColumn, timeUnit: unit, columns: columns,
            symbolPosition: order.firstIndex(of: options.symbolColumn)!, timePosition: order.firstIndex(of: options.timeColumn)!,
            dedup: options.dedup)
        do { try schema.validate() } catch { throw .badInput("\(root): \(error.message)") }
        return schema
    }

    static func describe(_ kind: ParquetKind) -> String {
        if case .unsupported(let name) = kind { return name }
        return "\(kind)"
    }

    /// Checks the data set against an existing table, adding its new columns when allowed.
    private static func prepare(
        _ existing: Schema, order: [String], kinds: [String: ParquetKind], root: String, table: String, options: CSVImportOptions,
        tx: Transaction
    ) throws(StrataError) -> Schema {
        if options.dedup && !existing.dedup { throw .badInput("table \(table) was created without --dedup, so it keeps every row; a key cannot be added to an existing table") }
        if let unit = options.timeUnit, unit != existing.timeUnit { throw .badInput("table \(table) keeps time in \(existing.timeUnit), not \(unit)") }
        if options.symbolColumn != existing.symbolColumn || options.timeColumn != existing.timeColumn {
            throw .badInput("table \(table) has symbol column '\(existing.symbolColumn)' and time column '\(existing.timeColumn)', not '\(options.symbolColumn)' and '\(options.timeColumn)'")
        }
        let new = order.filter { $0 != existing.symbolColumn && $0 != existing.timeColumn && existing.columnIndex($0) == nil }
        if new.isEmpty { return existing }
        if !options.addColumns {
            throw .badInput("\(root) has columns that table \(table) lacks: \(new.joined(separator: ", ")) (table columns: \(existing.headerNames.joined(separator: ", "))); add them with --add-columns")
        }
        for name in new {
            guard let type = options.types[name] ?? kinds[name]!.columnType else {
                throw .badInput("\(root), column \(name): \(describe(kinds[name]!)) is not a type Strata imports")
            }
            try tx.addColumn(name, type, to: table)
        }
        return try tx.schema(of: table)!
    }

    /// A row group's rows, decoded.
    struct RowGroupRows {
        var symbols: [String] = []
        var times: [Int64] = []
        var columns: [ColumnBuffer] = []
    }

    /// Row group `g` of a file: its symbols, times and value columns, its column chunks decoded on
    /// every core (each is independent). The first error in column order is thrown.
    func decode(_ file: ParquetFile, rowGroup g: Int, partitions: [(name: String, value: String)]) throws(StrataError) -> RowGroupRows {
        let n = file.rowGroups[g].rows
        if n == 0 { return RowGroupRows() }
        let source = ParquetRowGroupSource(file: file, rowGroup: g, partitions: partitions.filter { !derived.contains($0.name) })
        enum Decoded {
            case symbols([String]), times([Int64]), column(ColumnBuffer)
            var count: Int {
                switch self {
                case .symbols(let v): v.count
                case .times(let v): v.count
                case .column(let b): b.count
                }
            }
        }
        let (symbolColumn, timeColumn, unit, columns) = (options.symbolColumn, options.timeColumn, schema.timeUnit, schema.columns)
        let results = parallelMap(2 + columns.count) { k -> Result<Decoded, StrataError> in
            do throws(StrataError) {
                switch k {
                case 0: return .success(.symbols(try source.symbols(symbolColumn)))
                case 1: return .success(.times(try source.times(timeColumn, unit: unit)))
                default: return .success(.column(try source.column(columns[k - 2].name, type: columns[k - 2].type, rows: n)))
                }
            } catch {
                return .failure(error)
            }
        }
        var out = RowGroupRows()
        for (k, r) in results.enumerated() {
            // Each column gives a value a row: anything else is a malformed file, refused here.
            if case .success(let d) = r, d.count != n {
                throw .badInput("\(file.path), row group \(g): \(k == 0 ? symbolColumn : k == 1 ? timeColumn : columns[k - 2].name) has \(d.count) values for \(n) rows")
            }
            switch r {
            case .failure(let e): throw e
            case .success(.symbols(let v)): out.symbols = v
            case .success(.times(let v)): out.times = v
            case .success(.column(let b)): out.columns.append(b)
            }
        }
        return out
    }

    /// Appends the rows of row group `g` of a file, decoded.
    mutating func append(_ decoded: RowGroupRows, of file: ParquetFile, rowGroup g: Int, tx: Transaction) throws(StrataError) {
        let (symbols, times, columns) = (decoded.symbols, decoded.times, decoded.columns)
        let n = times.count
        if n == 0 { return }
        let t = try tx.tableBuffers(table)
        var lo = 0
        while lo < n {
            var hi = lo + 1
            while hi < n && symbols[hi] == symbols[lo] { hi += 1 }
            let b: SymbolBuffer
            do { b = try tx.symbolBuffer(t, symbols[lo]) } catch { throw .badInput("\(file.path), row group \(g), row \(lo): \(error.message)") }
            try tx.appendRows(t, b, times: times, columns: columns, rows: lo..<hi)
            lo = hi
        }
        rows += n
    }
}
