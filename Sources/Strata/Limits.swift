/// Every limit Strata enforces. Format.md states the ones that touch the bytes on disk.
public enum Limits {
    /// Rows in one block. Blocks of a few thousand rows keep the compression ratio (see Format.md).
    public static let blockRowsMax = 65_536
    /// Rows a writer collects for one symbol before it seals a block, unless told otherwise.
    public static let blockRowsDefault = 8_192
    /// Value columns in one table (the symbol and time columns are not counted).
    public static let valueColumnsMax = 1_000
    /// Bytes in a symbol (UTF-8), a table name and a column name.
    public static let symbolBytesMax = 255
    /// The longest table name, in UTF-8 bytes.
    public static let tableNameBytesMax = 64
    /// The longest column name, in UTF-8 bytes.
    public static let columnNameBytesMax = 128
    /// Bytes in one text value (UTF-8): a block of 65,536 such values stays far below 4 GiB.
    public static let textBytesMax = 16_384
    /// Tables in one database; symbols in one table.
    public static let tablesMax = 4_096
    /// The most symbols one table holds.
    public static let symbolsPerTableMax = 16_777_216
    /// A data file is closed for appends once it reaches this size; the next block starts a new file.
    public static let dataFileBytesTarget: UInt64 = 1 << 30
    /// Bytes in one manifest record.
    public static let manifestRecordBytesMax = 1 << 30
    /// Largest decimal scale tried by the decimal encoding (values × 10^k must be exact integers).
    public static let decimalScaleMax = 9
    /// Rows an importer or writer buffers across all symbols before it seals the largest buffers early.
    public static let bufferedRowsMax = 1 << 20
    /// Bytes of a CSV file one import parse task takes (a section), and how many tasks run ahead of the appends.
    public static let importSectionBytes = 4 << 20
    /// How much of a CSV file one parse task takes (the same as `importSectionBytes`).
    @available(*, deprecated, renamed: "importSectionBytes")
    public static var importChunkBytes: Int { importSectionBytes }
    /// How long opening a database read-write tries to take a writer lock that is held, before it
    /// reports the database locked (covers a descriptor briefly kept by a child process being started).
    public static let lockWaitMilliseconds = 100
    /// How many sections of a CSV file are parsed ahead of the one being appended.
    public static let importParseAhead = 4
}
