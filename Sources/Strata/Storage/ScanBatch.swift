/// The rows of one block that fall inside a scan's range. Columns are numbered as requested.
/// Valid only inside the scan's closure (its block is reused for the next one): reading a batch
/// after its closure returned is a `.misuse` error. The arrays it hands out are copies-on-write,
/// so keeping one is safe.
public struct ScanBatch {
    /// The symbol whose rows these are.
    public let symbol: String
    /// The rows of the block in the scan's range (index the column slices with them).
    public let rows: Range<Int>
    let block: DecodedBlock
    /// The block's generation when this batch was made; the block moves on when the scan does.
    let generation: Int

    init(symbol: String, rows: Range<Int>, block: DecodedBlock) {
        self.symbol = symbol
        self.rows = rows
        self.block = block
        self.generation = block.generation
    }

    /// The number of rows.
    public var count: Int { rows.count }

    /// The rows' times, in the table's unit.
    public var times: ArraySlice<Int64> {
        get throws(StrataError) {
            try checkCurrent()
            return block.times[rows]
        }
    }

    /// The type of requested column `column`.
    public func type(_ column: Int) throws(StrataError) -> ColumnType {
        try checkColumn(column)
        return block.types[column]
    }

    /// Requested column `column`, an int64 column (null rows hold 0: see `nulls(_:)`).
    public func int64(_ column: Int) throws(StrataError) -> ArraySlice<Int64> {
        try checkColumn(column, is: .int64)
        return block.ints[column][rows]
    }

    /// Requested column `column`, a float64 column (null rows hold 0: see `nulls(_:)`).
    public func float64(_ column: Int) throws(StrataError) -> ArraySlice<Double> {
        try checkColumn(column, is: .float64)
        if let scale = block.scales[column] { return ArraySlice(block.ints[column][rows].map { Double($0) / scale }) }
        return block.floats[column][rows]
    }

    /// The values of a text column (a null row holds "": see `nulls`).
    public func string(_ column: Int) throws(StrataError) -> ArraySlice<String> {
        try checkColumn(column, is: .string)
        return block.strings[column][rows]
    }

    /// Per row, whether `column` is null there; nil when no row of the batch is null.
    /// The arrays of `int64`, `float64` and `string` hold 0 or "" at null rows.
    public func nulls(_ column: Int) throws(StrataError) -> ArraySlice<Bool>? {
        try checkColumn(column)
        let n = block.nulls[column]
        return n.isEmpty || !n[rows].contains(true) ? nil : n[rows]
    }

    /// The value of `column` at absolute row `row` (within `rows`).
    public func value(_ column: Int, _ row: Int) throws(StrataError) -> Value {
        try checkColumn(column)
        if !rows.contains(row) {
            throw .misuse("row \(row) is outside this batch (rows \(rows.lowerBound)..<\(rows.upperBound))")
        }
        return block.value(column, row)
    }

    private func checkCurrent() throws(StrataError) {
        if block.generation != generation {
            throw .misuse("a ScanBatch was read after its scan closure returned; copy what you need inside the closure")
        }
    }

    private func checkColumn(_ column: Int, is type: ColumnType? = nil) throws(StrataError) {
        try checkCurrent()
        guard block.types.indices.contains(column) else {
            throw .misuse("column \(column) is not in this batch: the scan asked for \(block.types.count) columns (0..<\(block.types.count))")
        }
        if let type, block.types[column] != type {
            throw .misuse("column \(column) is \(block.types[column]), not \(type): read it with \(block.types[column])(_:)")
        }
    }
}
