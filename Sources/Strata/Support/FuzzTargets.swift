// The entry points of the fuzz targets (Sources/StrataFuzz, scripts/fuzz.sh) and of the test that
// replays their corpora and every crash found (Tests/Fuzz/). Each takes raw bytes and runs a parser
// of input Strata did not write the way the engine runs it. It may return or throw a StrataError;
// a trap, an out-of-bounds access, a hang or unbounded memory is a finding.

package enum FuzzTarget: String, CaseIterable, Sendable {
    /// A block's bytes (after one byte of options) → its header parsed (alone, as a copy of it is,
    /// and with its payload), every column decoded.
    case block
    /// A commit log's bytes → a catalog, or an error.
    case manifest
    /// A database directory (a manifest and data files) → opened, verified and scanned.
    case database
    /// A CSV file → imported into a fresh table.
    case csv
    /// SQL text → parsed, planned and run against a small fixed database.
    case sql
    /// A Parquet file → imported into a fresh table.
    case parquet
    /// A TZif file → a zone, asked for offsets.
    case tzif
    /// ISO-8601 text → a time in every unit.
    case time
    /// A trading calendar file → a calendar, asked for sessions.
    case calendar

    /// Runs the target on one input.
    package func run(_ bytes: [UInt8]) throws(StrataError) {
        switch self {
        case .block: try FuzzRuns.block(bytes)
        case .manifest: try FuzzRuns.inDirectory { (dir) throws(StrataError) in try FuzzRuns.manifest(bytes, dir) }
        case .database: try FuzzRuns.inDirectory { (dir) throws(StrataError) in try FuzzRuns.database(bytes, dir) }
        case .csv: try FuzzRuns.inDirectory { (dir) throws(StrataError) in try FuzzRuns.importFile(bytes, dir, parquet: false) }
        case .parquet: try FuzzRuns.inDirectory { (dir) throws(StrataError) in try FuzzRuns.importFile(bytes, dir, parquet: true) }
        case .sql: try FuzzRuns.sql(bytes)
        case .tzif: FuzzRuns.tzif(bytes)
        case .time: FuzzRuns.time(bytes)
        case .calendar: try FuzzRuns.calendar(bytes)
        }
    }
}

/// The bodies of the targets.
enum FuzzRuns {
    static let fs = PosixFileSystem()

    /// A fresh empty directory for one input, removed after it.
    static func inDirectory(_ body: (String) throws(StrataError) -> Void) throws(StrataError) {
        let root = (fs.isDirectory("/dev/shm") ? "/dev/shm" : "/tmp") + "/strata-fuzz-\(System.processID)"
        if !fs.isDirectory(root) { try fs.makeDirectory(root) }
        let dir = root + "/input-\(UInt64.random(in: 0...UInt64.max))"  // tests replay targets in parallel
        try fs.makeDirectory(dir)
        defer { removeTree(dir) }
        try body(dir)
    }

    static func removeTree(_ path: String) {
        guard fs.isDirectory(path) else { return }
        for name in (try? fs.list(path)) ?? [] {
            let p = path + "/" + name
            if fs.isDirectory(p) { removeTree(p) } else { try? fs.remove(p) }
        }
        try? fs.removeDirectory(path)
    }

    static func write(_ bytes: [UInt8], to path: String) throws(StrataError) {
        let f = try fs.open(path, create: true, writable: true)
        defer { fs.close(f) }
        let failure: StrataError? = bytes.withUnsafeBytes { (b) -> StrataError? in
            do throws(StrataError) { try fs.write(f, b, at: 0) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// Options byte: bit 0 seals the header checksum, bit 1 checks chunk checksums, bit 2 keeps
    /// decimal columns scaled, bits 3-7 (k) a window of rows: every row (0), the last at or
    /// before first + k × span / 32 (odd), or rows from first + (k / 4) × span / 32 to there (even).
    static func block(_ input: [UInt8]) throws(StrataError) {
        guard let options = input.first else { return }
        var bytes = Array(input.dropFirst())
        if options & 1 != 0 { BlockHeader.sealChecksum(&bytes) }
        headerAlone(bytes)
        let region = MappedRegion.copying(bytes)
        let h = try BlockHeader.parse(region, at: 0)
        var columns: [Column] = []
        for k in 1..<max(1, h.columnCount) {
            let d = h.chunk(k)
            columns.append(Column("c\(k)", d.type, id: d.columnID))
        }
        var schema = Schema(columns: [])
        schema.columns = columns
        let decoded = DecodedBlock()
        defer { decoded.retire() }
        let k = Int64(options >> 3), step = (h.lastTime &- h.firstTime) / 32
        let through = h.firstTime &+ step &* k
        let window: RowWindow =
            k == 0 ? .all : k % 2 == 1 ? .lastAtOrBefore(through) : .times(from: h.firstTime &+ step &* (k / 4), through: through)
        try Snapshot.decodeChunks(
            h, schema, columns: Array(columns.indices), scaled: options & 4 != 0 ? columns.map { _ in true } : nil, window: window,
            checkChecksums: options & 2 != 0, into: decoded, what: { "fuzz block" })
    }

    /// The header alone, as `Snapshot.statsHeader` copies it (the length it states, at most what
    /// there is): parsed without its payload, every descriptor and statistic read.
    private static func headerAlone(_ bytes: [UInt8]) {
        let copy = Array(bytes.prefix(bytes.withUnsafeBytes { BlockHeader.statedHeaderBytes($0) }))
        copy.withUnsafeBytes { raw in
            guard let h = try? BlockHeader.parse(raw, at: 0, end: raw.count, schema: nil, payload: false) else { return }
            for k in 0..<h.columnCount { _ = (h.chunk(k), h.stats(k), h.nullCount(k)) }
        }
    }

    static func manifest(_ bytes: [UInt8], _ dir: String) throws(StrataError) {
        try write(bytes, to: dir + "/MANIFEST")
        let db = try Database.open(dir, options: .readOnly)
        defer { db.close() }
        let snap = try db.snapshot()
        for t in snap.tables { _ = snap.schema(of: t) }
    }

    /// Input: files, each a u32 (little-endian) length and its bytes: the manifest, then data
    /// files 1, 2, ... (a length past the end takes what is left).
    static func database(_ bytes: [UInt8], _ dir: String) throws(StrataError) {
        var at = 0, k = 0
        while at + 4 <= bytes.count && k < 16 {
            let n = min(bytes.count - at - 4, Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24)
            let name = k == 0 ? "MANIFEST" : Catalog.dataFileName(UInt32(k))
            try write(Array(bytes[(at + 4)..<(at + 4 + n)]), to: dir + "/" + name)
            at += 4 + n
            k += 1
        }
        _ = Database.verify(dir)
        let db = try Database.open(dir, options: .readOnly)
        defer { db.close() }
        let snap = try db.snapshot()
        for t in snap.tables {
            _ = try snap.query(Query([.star], from: t))
            _ = try snap.query("SELECT count(*), min(\(snap.schema(of: t).map { "\"\($0.timeColumn)\"" } ?? "ts")) FROM \"\(t)\"")
        }
    }

    static func importFile(_ bytes: [UInt8], _ dir: String, parquet: Bool) throws(StrataError) {
        let file = dir + (parquet ? "/in.parquet" : "/in.csv")
        try write(bytes, to: file)
        // No auto-compaction: its thread and rounds would cost half the time and parse nothing.
        // Blocks of 64 rows: an import reserves a block's rows per column per symbol, 64 KB at the
        // default 8,192, whose allocation under ASan was most of an input's time; small blocks also
        // cut the inputs' rows into many blocks.
        let db = try Database.open(dir + "/db", options: DatabaseOptions(blockRows: 64, autoCompaction: .off))
        defer { db.close() }
        try strataErrors {
            if parquet {
                _ = try ParquetImporter.importPath(file, into: "t", database: db)
            } else {
                _ = try CSVImporter.importFile(file, into: "t", database: db)
            }
        }
        _ = try db.snapshot().query("SELECT * FROM t")
    }

    /// The fixed database the SQL target queries: two tables of a few rows, made once a process.
    nonisolated(unsafe) static var sqlSnapshot: Snapshot?

    static func sql(_ bytes: [UInt8]) throws(StrataError) {
        if sqlSnapshot == nil { sqlSnapshot = try makeSQLDatabase() }
        _ = try sqlSnapshot!.query(String(decoding: bytes, as: UTF8.self))
    }

    private static func makeSQLDatabase() throws(StrataError) -> Snapshot {
        let dir = (fs.isDirectory("/dev/shm") ? "/dev/shm" : "/tmp") + "/strata-fuzz-sql-\(System.processID)"
        removeTree(dir)
        let db = try Database.open(dir, options: DatabaseOptions(blockRows: 4))
        try strataErrors { try db.write { tx in try fill(tx) } }
        return try db.snapshot()
    }

    /// Runs `body`, whose errors are all StrataErrors (API that takes closures throws untyped).
    static func strataErrors(_ body: () throws -> Void) throws(StrataError) {
        do { try body() } catch let e as StrataError { throw e } catch { throw .badInput("\(error)") }
    }

    private static func fill(_ tx: Transaction) throws(StrataError) {
        do {
            try tx.createTable("bars", schema: Schema(columns: [Column("close", .float64), Column("volume", .int64), Column("venue", .string)]))
            try tx.createTable("fund_shares", schema: Schema(columns: [Column("shares", .int64)]))
            for (k, symbol) in ["159363", "588730", "a"].enumerated() {
                for i in 0..<Int64(10 + 7 * k) {
                    let t = 1_704_159_000_000 + i * 60_000 + Int64(k) * 3_600_000
                    try tx.append(to: "bars", symbol: symbol, time: t, values: [
                        i % 5 == 0 ? .null : .float64(1 + Double(i) / 100), .int64(i * 100 - 300), i % 3 == 0 ? .null : .string(["x", "y", ""][Int(i) % 3]),
                    ])
                }
                try tx.append(to: "fund_shares", symbol: symbol, time: 1_704_100_000_000, values: [.int64(1_000_000 * Int64(k + 1))])
            }
            // A symbol of 1,000 seconds: a resampling of it by the second makes more groups than a
            // table keeps before handing the complete ones out (`Plan.streamedGroups`).
            for i in 0..<Int64(1_000) {
                try tx.append(to: "bars", symbol: "b", time: 1_704_159_000_000 + i * 1_000 + (i % 7 == 0 ? 500 : 0), values: [
                    i % 11 == 0 ? .null : .float64(2 + Double(i % 97) / 100), .int64(i % 13 * 100), i % 4 == 0 ? .null : .string(["x", "z"][Int(i) % 2]),
                ])
            }
        }
    }

    static func tzif(_ bytes: [UInt8]) {
        guard let zone = ZoneRules.parse("fuzz", bytes) else { return }
        for t: Int64 in [.min / 2, -2_208_988_800, 0, 1_704_159_000, 4_102_444_800, .max / 2] {
            _ = zone.offset(at: t)
            _ = zone.stableSpan(at: t)
            _ = zone.utc(ofLocal: t)
        }
    }

    static func time(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        for unit in TimeUnit.allCases { _ = try? TimeParser.parse(text, unit: unit) }
    }

    static func calendar(_ bytes: [UInt8]) throws(StrataError) {
        let c = try TradingCalendar.parse(String(decoding: bytes, as: UTF8.self), source: "fuzz")
        var cursor = TradingCalendar.Cursor()
        for t: Int64 in [0, 1_704_159_000_000, 1_707_700_000_000, 4_102_444_800_000] {
            _ = c.bucket(t, step: 1_800_000, perSecond: 1000, cursor: &cursor)
        }
    }
}
