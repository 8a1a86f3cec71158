
/// Options of a CSV import.
public struct CSVImportOptions: Sendable {
    /// The time unit of a new table; for an existing table, must match when given.
    public var timeUnit: TimeUnit?
    /// The header name of the symbol column.
    public var symbolColumn = "symbol"
    /// The header name of the time column.
    public var timeColumn = "ts"
    /// A new table keeps one row per (symbol, time) (`Schema.dedup`); refused for an existing table
    /// created without it. Any write to a table with the key replaces rows with the same key.
    public var dedup = false
    /// Column types that are not to be inferred (`--types NAME=TYPE,...`): for a new table's columns
    /// and columns the import adds. A column of an existing table keeps its type; naming another is refused.
    public var types: [String: ColumnType] = [:]
    /// Columns of the file that the table lacks are added (after its other columns; older rows read
    /// them as null). Without it such a file is refused, naming them.
    public var addColumns = false
    /// How much of the file one parse task takes (tests make it small to cross many section edges).
    var sectionBytes = Limits.importSectionBytes

    /// Options with the defaults of `strata import`.
    public init(
        timeUnit: TimeUnit? = nil, symbolColumn: String = "symbol", timeColumn: String = "ts", dedup: Bool = false,
        types: [String: ColumnType] = [:], addColumns: Bool = false
    ) {
        self.timeUnit = timeUnit
        self.symbolColumn = symbolColumn
        self.timeColumn = timeColumn
        self.dedup = dedup
        self.types = types
        self.addColumns = addColumns
    }
}

/// What an import did (CSV or Parquet).
public struct CSVImportResult: Sendable {
    /// Rows imported.
    public var rows: Int
    /// Whether the import created the table.
    public var createdTable: Bool
    /// The table's schema after the import (with any columns it added).
    public var schema: Schema
}

/// Imports a CSV file into a table in one transaction: all rows or none.
///
/// An empty unquoted field is null (in a value column; the symbol and time are required). A new
/// table's schema comes from the header and the values: a column whose first non-empty value is not
/// a number holds text (`string`); a column of integers only is Int64; other numbers Float64 (see
/// `importFile` and `run` for how each finds out); `CSVImportOptions.types` overrides. Columns of the
/// table the file lacks are null in its rows; columns of the file the table lacks are refused, or
/// added with `addColumns`. Rows are appended straight from the mapped file; memory stays bounded
/// whatever its size.
public enum CSVImporter {
    /// How a new table's column types are chosen.
    enum Inference {
        /// Read the whole file first: for a caller's transaction, which cannot be retried.
        case wholeFile
        /// Guess from the first row, with the columns in `float` as Float64. A later non-integer in a
        /// guessed Int64 column stops the import with `Widen`, which names every such column in the
        /// file. A first row with an empty value reads the whole file instead.
        case firstRow(float: Set<String>)
    }

    struct Widen: Error {
        var columns: Set<String>
    }

    /// Imports `path` into `table` in its own transaction of `database`: all rows or none.
    /// A new table's types are guessed from the first row and the import starts over, once, with the
    /// columns widened to Float64 when a later row shows they hold non-integers: one pass over the file
    /// for typical data, two at most.
    public static func importFile(
        _ path: String, into table: String, database: Database, options: CSVImportOptions = CSVImportOptions(),
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> CSVImportResult {
        var float: Set<String> = []
        while true {
            do {
                return try database.write { tx in
                    try run(path, into: table, transaction: tx, options: options, inference: .firstRow(float: float), progress: progress)
                }
            } catch let widen as Widen {
                if widen.columns.isSubset(of: float) { throw StrataError(.badInput, "\(path): could not settle the column types") }
                float.formUnion(widen.columns)
            }
        }
    }

    /// Imports `path` into `table` within the caller's transaction. A new table's types come from a first
    /// pass over the whole file.
    public static func run(
        _ path: String, into table: String, transaction tx: Transaction, options: CSVImportOptions = CSVImportOptions(),
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws(StrataError) -> CSVImportResult {
        do {
            return try run(path, into: table, transaction: tx, options: options, inference: .wholeFile, progress: progress)
        } catch let e as StrataError {
            throw e
        } catch {
            throw StrataError(.badInput, "\(path): \(error)")
        }
    }

    static func run(
        _ path: String, into table: String, transaction tx: Transaction, options: CSVImportOptions,
        inference: Inference, progress: ((_ done: Int, _ total: Int) -> Void)?
    ) throws -> CSVImportResult {
        try Schema.validateTableName(table)
        var reader = try CSVReader(path: path)
        guard try reader.next() else { throw StrataError.badInput("\(path) is empty: expected a CSV header line") }
        var header: [String] = []
        for f in reader.fields { header.append(try reader.string(f, column: "header")) }
        let dataStart = reader.position
        let headerLine = reader.line
        guard let symbolAt = header.firstIndex(where: { sameBytes($0, options.symbolColumn) }) else {
            throw StrataError.badInput("\(path) line \(headerLine): the header has no symbol column '\(options.symbolColumn)' (columns: \(header.joined(separator: ", "))); name it with --symbol-column")
        }
        guard let timeAt = header.firstIndex(where: { sameBytes($0, options.timeColumn) }) else {
            throw StrataError.badInput("\(path) line \(headerLine): the header has no time column '\(options.timeColumn)' (columns: \(header.joined(separator: ", "))); name it with --time-column")
        }
        let names = try checkedHeader(header, options: options, path: path, line: headerLine)
        var created = false
        var schema: Schema
        var guessed: Set<Int> = []
        if let existing = try tx.schema(of: table) {
            schema = try prepareTable(existing, header: header, names: names, reader: &reader, tx: tx, table: table, options: options)
        } else {
            let valueNames = header.enumerated().filter { $0.offset != symbolAt && $0.offset != timeAt }.map(\.element)
            let valueFields = header.indices.filter { $0 != symbolAt && $0 != timeAt }
            let given = givenTypes(options, header: header, fields: valueFields)
            var types: [ColumnType]
            if case .firstRow(let float) = inference, try reader.next(), reader.fields.count == header.count,
                !valueFields.contains(where: { reader.fields[$0].isNull })
            {
                types = valueFields.map { k in given[k] ?? guessType(reader, k, float: float.contains(where: { sameBytes($0, header[k]) })) }
                guessed = Set(types.indices.filter { types[$0] == .int64 && given[valueFields[$0]] == nil })
            } else {
                reader.rewind(to: dataStart, afterLine: headerLine)
                types = try inferTypes(&reader, header: header, fields: valueFields, given: given)
            }
            schema = Schema(
                symbolColumn: options.symbolColumn, timeColumn: options.timeColumn, timeUnit: options.timeUnit ?? .milliseconds,
                columns: zip(valueNames, types).map { Column($0, $1) }, symbolPosition: symbolAt, timePosition: timeAt,
                dedup: options.dedup)
            do { try schema.validate() } catch { throw StrataError.badInput("\(path) line \(headerLine): \(error.message)") }
            try tx.createTable(table, schema: schema)
            created = true
        }
        // Field position → value column index (or -1 for the symbol, -2 for the time).
        let slots: [Int] = header.map { name in
            if sameBytes(name, schema.symbolColumn) { return -1 }
            if sameBytes(name, schema.timeColumn) { return -2 }
            return schema.columnIndex(name)!
        }
        reader.rewind(to: dataStart, afterLine: headerLine)
        let rows = try load(
            &reader, header: header, slots: slots, schema: schema, table: table, tx: tx, guessed: guessed,
            sectionBytes: options.sectionBytes, progress: progress)
        return CSVImportResult(rows: rows, createdTable: created, schema: schema)
    }

    /// The header's names, checked: none twice, none empty, every `--types` name among them.
    private static func checkedHeader(
        _ header: [String], options: CSVImportOptions, path: String, line: Int
    ) throws(StrataError) -> Set<ByteString> {
        var names = Set<ByteString>()
        for name in header where !names.insert(ByteString(name)).inserted {
            throw .badInput("\(path) line \(line): the header names column '\(name)' twice")
        }
        for name in options.types.keys.sorted() where !names.contains(ByteString(name)) {
            throw .badInput("--types names column '\(name)', which \(path) does not have (columns: \(header.joined(separator: ", ")))")
        }
        for name in [options.symbolColumn, options.timeColumn] where options.types[name] != nil {
            throw .badInput("--types cannot type '\(name)': the symbol column is text and the time column int64")
        }
        return names
    }

    private static func givenTypes(_ options: CSVImportOptions, header: [String], fields: [Int]) -> [Int: ColumnType] {
        var given: [Int: ColumnType] = [:]
        for k in fields { if let t = options.types.first(where: { sameBytes($0.key, header[k]) })?.value { given[k] = t } }
        return given
    }

    /// A column's type guessed from its value in the current row (not empty).
    private static func guessType(_ reader: CSVReader, _ k: Int, float: Bool) -> ColumnType {
        let f = reader.fields[k]
        if f.escaped || reader.withField(f, NumberParser.double) == nil { return .string }
        return !float && reader.withField(f, NumberParser.looksIntegral) ? .int64 : .float64
    }

    /// Checks the file against an existing table; adds the file's new columns when allowed (typed as
    /// given or from the whole file). Returns the table's schema for the import.
    private static func prepareTable(
        _ existing: Schema, header: [String], names: Set<ByteString>, reader: inout CSVReader, tx: Transaction, table: String,
        options: CSVImportOptions
    ) throws -> Schema {
        try checkMatches(existing, header: header, options: options, path: reader.path, table: table)
        for (name, type) in options.types.sorted(by: { $0.key < $1.key }) {
            if let i = existing.columnIndex(name), existing.columns[i].type != type {
                throw StrataError.badInput("column \(name) of table \(table) is \(existing.columns[i].type), not \(type); a column keeps its type")
            }
        }
        let newFields = header.indices.filter { k in
            !sameBytes(header[k], existing.symbolColumn) && !sameBytes(header[k], existing.timeColumn) && existing.columnIndex(header[k]) == nil
        }
        if newFields.isEmpty { return existing }
        if !options.addColumns {
            throw StrataError.badInput("\(reader.path) has columns that table \(table) lacks: \(newFields.map { header[$0] }.joined(separator: ", ")) (table columns: \(existing.headerNames.joined(separator: ", "))); add them with --add-columns")
        }
        let start = reader.position, line = reader.line
        let types = try inferTypes(&reader, header: header, fields: newFields, given: givenTypes(options, header: header, fields: newFields))
        reader.rewind(to: start, afterLine: line)
        for (k, type) in zip(newFields, types) { try tx.addColumn(header[k], type, to: table) }
        return try tx.schema(of: table)!
    }

    private static func checkMatches(_ s: Schema, header: [String], options: CSVImportOptions, path: String, table: String) throws(StrataError) {
        if options.dedup && !s.dedup {
            throw .badInput("table \(table) was created without --dedup, so it keeps every row; a key cannot be added to an existing table (import into a new table with --dedup)")
        }
        if let unit = options.timeUnit, unit != s.timeUnit {
            throw .badInput("table \(table) keeps time in \(s.timeUnit), not \(unit)")
        }
        if !sameBytes(options.symbolColumn, s.symbolColumn) || !sameBytes(options.timeColumn, s.timeColumn) {
            throw .badInput("table \(table) has symbol column '\(s.symbolColumn)' and time column '\(s.timeColumn)', not '\(options.symbolColumn)' and '\(options.timeColumn)'")
        }
    }

    /// What a column's values showed so far.
    private enum Evidence { case integers, numbers, text }

    /// The first pass, from the current row to the end: a column whose first non-empty value is not a
    /// number holds text; a column of integers only is Int64; other numbers Float64. A number column
    /// that meets text, and a column with no value at all, are errors unless `given` types them.
    private static func inferTypes(
        _ reader: inout CSVReader, header: [String], fields: [Int], given: [Int: ColumnType]
    ) throws(StrataError) -> [ColumnType] {
        var seen = [Evidence?](repeating: nil, count: header.count)
        let open = fields.filter { given[$0] == nil }
        while try reader.next() {
            if reader.fields.count != header.count {
                if reader.isTrailingEmptyLine { break }
                throw shapeError(reader, expected: header.count)
            }
            for k in open {
                let f = reader.fields[k]
                if f.isNull { continue }
                if seen[k] == .text { continue }
                let number = !f.escaped && reader.withField(f, NumberParser.double) != nil
                let integral = number && reader.withField(f, NumberParser.looksIntegral)
                switch seen[k] {
                case nil: seen[k] = !number ? .text : integral ? .integers : .numbers
                case .integers?, .numbers?:
                    if !number {
                        throw .badInput("\(reader.path) line \(reader.line), column \(header[k]): '\(reader.excerpt(f))' is not a number, and the column's first value was (give its type with --types \(header[k])=string)")
                    }
                    if !integral { seen[k] = .numbers }
                case .text?: break
                }
            }
        }
        return try fields.map { (k) throws(StrataError) in
            if let t = given[k] { return t }
            switch seen[k] {
            case .integers?: return .int64
            case .numbers?: return .float64
            case .text?: return .string
            case nil: throw .badInput("\(reader.path): column \(header[k]) has no value in any row, so its type is unknown; give it with --types \(header[k])=TYPE (int64, float64 or string)")
            }
        }
    }

    /// The guessed Int64 columns that hold a non-integer in the current row or any row after it.
    private static func columnsToWiden(
        _ reader: inout CSVReader, header: [String], slots: [Int], guessed: Set<Int>
    ) throws(StrataError) -> Set<String> {
        let fields = header.indices.filter { slots[$0] >= 0 && guessed.contains(slots[$0]) }
        var found: Set<Int> = []
        repeat {
            if reader.fields.count != header.count {
                if reader.isTrailingEmptyLine { break }
                throw shapeError(reader, expected: header.count)
            }
            for k in fields where !found.contains(k) {
                let f = reader.fields[k]
                if f.isNull { continue }
                if !reader.withField(f, NumberParser.looksIntegral) && reader.withField(f, NumberParser.double) != nil { found.insert(k) }
            }
        } while try reader.next()
        return Set(found.map { header[$0] })
    }

    private static func shapeError(_ reader: CSVReader, expected: Int) -> StrataError {
        let got = reader.fields.count
        let what = got < expected ? "a short row" : "a long row"
        return .badInput("\(reader.path) line \(reader.line): \(what): \(got) fields where the header has \(expected)")
    }

    /// The second pass: parse and append every row. Sections of the file are parsed ahead on worker
    /// threads (`SectionPipeline`); a section the fast parser declined, or one that does not start where the
    /// previous rows ended (a quoted line break across a section edge), is parsed here with the reader.
    private static func load(
        _ reader: inout CSVReader, header: [String], slots: [Int], schema: Schema, table: String, tx: Transaction,
        guessed: Set<Int>, sectionBytes: Int, progress: ((Int, Int) -> Void)?
    ) throws -> Int {
        let t = try tx.tableBuffers(table)
        let types = schema.columns.map(\.type)
        var serial = SerialRows(header: header, slots: slots, types: types, guessed: guessed, table: t)
        var rows = 0
        let total = reader.region.count
        var nextProgress = 0
        let pipeline = SectionPipeline(
            parser: CSVSectionParser(region: reader.region, slots: slots, types: types), from: reader.position,
            sectionBytes: sectionBytes, ahead: Limits.importParseAhead)
        while let (range, section) = pipeline.next() {
            if reader.position >= range.upperBound { continue }
            if section.ok && section.start == reader.position, let buffers = resolveSymbols(section, reader: reader, tx: tx, table: t) {
                try append(section, buffers: buffers, reader: reader, tx: tx, table: t)
                reader.skip(to: section.end, lines: section.rows)
                rows += section.rows
            } else {
                while reader.position < range.upperBound, try reader.next() {
                    guard try serial.append(&reader, tx: tx) else { break }
                    rows += 1
                }
            }
            if let progress, reader.position >= nextProgress {
                progress(reader.position, total)
                nextProgress = reader.position + (1 << 24)
            }
        }
        progress?(total, total)
        return rows
    }

    /// The symbol buffers of a parsed section's symbols, or nil when one is not a valid symbol (the
    /// serial reader then reports it with its line).
    private static func resolveSymbols(
        _ section: CSVSectionParser.Section, reader: CSVReader, tx: Transaction, table t: TableBuffers
    ) -> [SymbolBuffer]? {
        var buffers: [SymbolBuffer] = []
        buffers.reserveCapacity(section.symbols.count)
        for r in section.symbols {
            guard let name = reader.withBytes(r, { validUTF8($0) }), let b = try? tx.symbolBuffer(t, name) else {
                return nil
            }
            buffers.append(b)
        }
        return buffers
    }

    private static func append(
        _ section: CSVSectionParser.Section, buffers: [SymbolBuffer], reader: CSVReader, tx: Transaction, table t: TableBuffers
    ) throws(StrataError) {
        var row = 0
        for run in section.runs {
            try tx.appendRows(t, buffers[run.symbol], times: section.times, columns: section.columns, rows: row..<row + run.rows)
            row += run.rows
        }
    }

    /// Appends the reader's current record: the reference parser, for whatever the section parser declines.
    private struct SerialRows {
        let header: [String]
        let slots: [Int]
        let types: [ColumnType]
        let guessed: Set<Int>
        let table: TableBuffers
        var values: [Value]
        var lastSymbolBytes: [UInt8] = []
        var lastBuffer: SymbolBuffer? = nil

        init(header: [String], slots: [Int], types: [ColumnType], guessed: Set<Int>, table: TableBuffers) {
            self.header = header
            self.slots = slots
            self.types = types
            self.guessed = guessed
            self.table = table
            // Columns the file lacks stay null.
            self.values = [Value](repeating: .null, count: types.count)
        }

        /// False at a trailing empty line (the end of the data).
        mutating func append(_ reader: inout CSVReader, tx: Transaction) throws -> Bool {
            if reader.fields.count != header.count {
                if reader.isTrailingEmptyLine { return false }
                throw shapeError(reader, expected: header.count)
            }
            var time: Int64 = 0
            var buffer: SymbolBuffer! = nil
            for (k, f) in reader.fields.enumerated() {
                let slot = slots[k]
                if slot >= 0 {
                    if types[slot] == .int64 && guessed.contains(slot) && !f.escaped && !f.isNull,
                        reader.withField(f, { if case .invalid = NumberParser.int64($0) { NumberParser.double($0) != nil } else { false } })
                    {
                        throw Widen(columns: try columnsToWiden(&reader, header: header, slots: slots, guessed: guessed))
                    }
                    values[slot] = try parseValue(reader, f, type: types[slot], column: header[k])
                } else if slot == -2 {
                    time = try parseTime(reader, f, column: header[k])
                } else {
                    if !f.escaped, let b = lastBuffer, reader.withField(f, { $0.elementsEqual(lastSymbolBytes) }) {
                        buffer = b
                    } else {
                        let symbol = try reader.string(f, column: header[k])
                        do { buffer = try tx.symbolBuffer(table, symbol) } catch {
                            throw StrataError.badInput("\(reader.path) line \(reader.line), column \(header[k]): \(error.message)")
                        }
                        lastBuffer = !f.escaped ? buffer : nil
                        lastSymbolBytes = reader.withField(f) { Array($0) }
                    }
                }
            }
            do {
                try tx.appendRow(table, buffer, time: time, values: values)
            } catch {
                throw StrataError(error.kind, "\(reader.path) line \(reader.line): \(error.message)")
            }
            return true
        }
    }

    @inline(__always)
    private static func parseValue(_ reader: CSVReader, _ f: CSVReader.Field, type: ColumnType, column: String) throws(StrataError) -> Value {
        if f.isNull { return .null }
        // Built only for an error: a string a field was most of the serial path's allocations.
        func location() -> String { "\(reader.path) line \(reader.line), column \(column)" }
        switch type {
        case .int64:
            switch reader.withField(f, NumberParser.int64) {
            case .value(let v) where !f.escaped: return .int64(v)
            case .overflow: throw .badInput("\(location()): '\(reader.excerpt(f))' does not fit in a 64-bit integer")
            default: throw .badInput("\(location()): '\(reader.excerpt(f))' is not an integer (the column is int64)")
            }
        case .float64:
            if !f.escaped, let d = reader.withField(f, NumberParser.double) { return .float64(d) }
            throw .badInput("\(location()): '\(reader.excerpt(f))' is not a number (the column is float64)")
        case .string:
            let text = try reader.string(f, column: column)
            do { try Transaction.checkText(text, column: column) } catch { throw .badInput("\(location()): \(error.message)") }
            return .string(text)
        }
    }

    private static func parseTime(_ reader: CSVReader, _ f: CSVReader.Field, column: String) throws(StrataError) -> Int64 {
        switch reader.withField(f, NumberParser.int64) {
        case .value(let v) where !f.escaped: return v
        case .overflow:
            throw .badInput("\(reader.path) line \(reader.line), column \(column): time '\(reader.excerpt(f))' does not fit in a 64-bit integer")
        default:
            throw .badInput("\(reader.path) line \(reader.line), column \(column): time '\(reader.excerpt(f))' is not an integer in the table's unit")
        }
    }
}
