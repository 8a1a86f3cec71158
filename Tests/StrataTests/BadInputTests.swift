import Foundation
import Testing
@testable import Strata
@testable import StrataTools

#if canImport(Glibc)
import Glibc
#endif

/// The catalogue of malformed inputs: CSV files, command-line arguments, SQL, table and symbol names.
/// Each one fails with exit code 1 and a message saying what is wrong, changes no byte of the
/// database, and creates nothing beside it.
@Suite struct BadInputTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        /// Arguments; `DB` is the database, `DIR` the folder around it, `BAD` a CSV holding `csv`
        /// (`BADPQ`: a .parquet file holding it).
        var args: [String]
        var csv: [UInt8] = []
        var message: String
        var testDescription: String { name }
    }

    static func csv(_ s: String) -> [UInt8] { Array(s.utf8) }
    static let longName = String(repeating: "n", count: 65)
    static let longSymbol = String(repeating: "s", count: 256)

    static let catalogue: [Case] = [
        // CSV files
        Case(name: "csv: text in a number column", args: ["import", "DB", "t", "BAD"], csv: csv("symbol,ts,v\na,20,abc\n"), message: "line 2, column v"),
        Case(name: "csv: short row", args: ["import", "DB", "t", "BAD"], csv: csv("symbol,ts,v\na,20\n"), message: "line 2"),
        Case(name: "csv: unterminated quote", args: ["import", "DB", "t", "BAD"], csv: csv("symbol,ts,v\n\"a,20,1\n"), message: "line 2"),
        Case(name: "csv: --dedup on a table created without it", args: ["import", "DB", "t", "BAD", "--dedup"], csv: csv("symbol,ts,v\na,5,1\n"), message: "--dedup"),
        Case(name: "delete without a symbol or a range", args: ["delete", "DB", "t"], message: "strata drop"),
        Case(name: "delete from an unknown table", args: ["delete", "DB", "nope", "--from", "0"], message: "no table named nope"),
        Case(name: "drop of an unknown table", args: ["drop", "DB", "nope"], message: "no table named nope"),
        Case(name: "csv: time overflowing Int64", args: ["import", "DB", "t", "BAD"], csv: csv("symbol,ts,v\na,99999999999999999999,1\n"), message: "column ts"),
        Case(name: "csv: columns unlike the table's", args: ["import", "DB", "t", "BAD"], csv: csv("symbol,ts,w\na,20,1\n"), message: "lacks: w"),
        Case(name: "csv: non-UTF-8 symbol", args: ["import", "DB", "t", "BAD"], csv: csv("symbol,ts,v\n") + [0xFF, 0xFE] + csv(",20,1\n"), message: "UTF-8"),
        Case(name: "csv: overlong symbol", args: ["import", "DB", "t", "BAD"], csv: csv("symbol,ts,v\n\(longSymbol),20,1\n"), message: "longer than 255 bytes"),
        Case(name: "csv: empty symbol", args: ["import", "DB", "t", "BAD"], csv: csv("symbol,ts,v\n,20,1\n"), message: "empty"),
        Case(name: "csv: empty column name", args: ["import", "DB", "new", "BAD"], csv: csv("symbol,ts,\na,20,1\n"), message: "column"),
        Case(name: "csv: control character in a column name", args: ["import", "DB", "new", "BAD"], csv: csv("symbol,ts,v\u{7}\na,20,1\n"), message: "column"),
        Case(name: "csv: NUL bytes", args: ["import", "DB", "new", "BAD"], csv: csv("symbol,ts,v\na,20,") + [0, 0, 0] + csv("\n"), message: "binary"),
        Case(name: "csv: no time column", args: ["import", "DB", "new", "BAD"], csv: csv("symbol,time,v\na,20,1\n"), message: "no time column"),
        Case(name: "csv: duplicate column", args: ["import", "DB", "new", "BAD"], csv: csv("symbol,ts,v,v\na,20,1,1\n"), message: "twice"),
        // Values, types and changing columns (table t has symbol, ts and v: float64)
        Case(name: "csv: a column with no value", args: ["import", "DB", "new", "BAD"], csv: csv("symbol,ts,v,w\na,20,1,\n"), message: "--types w=TYPE"),
        Case(name: "csv: text after numbers in a new column", args: ["import", "DB", "new", "BAD"], csv: csv("symbol,ts,v\na,20,1\na,21,x\n"), message: "line 3, column v"),
        Case(name: "csv: new columns without --add-columns", args: ["import", "DB", "t", "BAD"], csv: csv("symbol,ts,v,vwap\na,20,1,2\n"), message: "--add-columns"),
        Case(name: "types: unknown type", args: ["import", "DB", "new", "BAD", "--types", "v=decimal"], csv: csv("symbol,ts,v\na,20,1\n"), message: "not a type"),
        Case(name: "types: malformed", args: ["import", "DB", "new", "BAD", "--types", "v"], csv: csv("symbol,ts,v\na,20,1\n"), message: "NAME=TYPE"),
        Case(name: "types: a column the file lacks", args: ["import", "DB", "new", "BAD", "--types", "w=int64"], csv: csv("symbol,ts,v\na,20,1\n"), message: "does not have"),
        Case(name: "types: the time column", args: ["import", "DB", "new", "BAD", "--types", "ts=string"], csv: csv("symbol,ts,v\na,20,1\n"), message: "cannot type"),
        Case(name: "types: another type for an existing column", args: ["import", "DB", "t", "BAD", "--types", "v=string"], csv: csv("symbol,ts,v\na,20,x\n"), message: "keeps its type"),
        Case(name: "types: text in a typed int64 column", args: ["import", "DB", "new", "BAD", "--types", "v=int64"], csv: csv("symbol,ts,v\na,20,1.5\n"), message: "line 2, column v"),
        Case(name: "alter: no change given", args: ["alter", "DB", "t"], message: "exactly one"),
        Case(name: "alter: two changes given", args: ["alter", "DB", "t", "--drop-column", "v", "--add-column", "w:int64"], message: "exactly one"),
        Case(name: "alter: unknown type", args: ["alter", "DB", "t", "--add-column", "w:text"], message: "not a type"),
        Case(name: "alter: add without a type", args: ["alter", "DB", "t", "--add-column", "w"], message: "NAME:TYPE"),
        Case(name: "alter: add an existing name", args: ["alter", "DB", "t", "--add-column", "v:int64"], message: "already has a column named 'v'"),
        Case(name: "alter: add the symbol column's name", args: ["alter", "DB", "t", "--add-column", "symbol:string"], message: "already has"),
        Case(name: "alter: add a name with a control character", args: ["alter", "DB", "t", "--add-column", "w\u{1}:int64"], message: "control character"),
        Case(name: "alter: drop an unknown column", args: ["alter", "DB", "t", "--drop-column", "nope"], message: "no column 'nope'"),
        Case(name: "alter: drop the symbol column", args: ["alter", "DB", "t", "--drop-column", "symbol"], message: "cannot be dropped"),
        Case(name: "alter: drop the time column", args: ["alter", "DB", "t", "--drop-column", "ts"], message: "cannot be dropped"),
        Case(name: "alter: drop the only value column", args: ["alter", "DB", "t", "--drop-column", "v"], message: "only value column"),
        Case(name: "alter: rename onto an existing name", args: ["alter", "DB", "t", "--rename-column", "v:ts"], message: "already has a column named 'ts'"),
        Case(name: "alter: rename an unknown column", args: ["alter", "DB", "t", "--rename-column", "nope:w"], message: "no column 'nope'"),
        Case(name: "alter: rename to an empty name", args: ["alter", "DB", "t", "--rename-column", "v:"], message: "empty"),
        Case(name: "alter: unknown table", args: ["alter", "DB", "nope", "--add-column", "w:int64"], message: "no table named nope"),
        Case(name: "alter: missing database", args: ["alter", "DIR/none", "t", "--add-column", "w:int64"], message: "does not exist"),
        // Table names
        Case(name: "table: parent directory", args: ["import", "DB", "..", "BAD"], csv: csv("symbol,ts,v\na,20,1\n"), message: "table name"),
        Case(name: "table: path escaping the directory", args: ["import", "DB", "../escaped", "BAD"], csv: csv("symbol,ts,v\na,20,1\n"), message: "table name"),
        Case(name: "table: path separator", args: ["import", "DB", "a/b", "BAD"], csv: csv("symbol,ts,v\na,20,1\n"), message: "table name"),
        Case(name: "table: absolute path", args: ["import", "DB", "/tmp/x", "BAD"], csv: csv("symbol,ts,v\na,20,1\n"), message: "table name"),
        Case(name: "table: empty", args: ["import", "DB", "", "BAD"], csv: csv("symbol,ts,v\na,20,1\n"), message: "empty"),
        Case(name: "table: overlong", args: ["import", "DB", longName, "BAD"], csv: csv("symbol,ts,v\na,20,1\n"), message: "longer than 64 bytes"),
        Case(name: "table: hidden", args: ["import", "DB", ".hidden", "BAD"], csv: csv("symbol,ts,v\na,20,1\n"), message: "table name"),
        Case(name: "table: unknown in dump", args: ["dump", "DB", "nosuch"], message: "no table named nosuch"),
        Case(name: "table: unknown in compact", args: ["compact", "DB", "--table", "../t"], message: "no table named"),
        // Command-line arguments
        Case(name: "args: unknown command", args: ["frobnicate"], message: "Unexpected argument"),
        Case(name: "args: unknown option", args: ["dump", "DB", "t", "--bogus"], message: "Unknown option"),
        Case(name: "args: missing argument", args: ["import", "DB"], message: "Missing expected argument"),
        Case(name: "args: bad time unit", args: ["import", "DB", "t", "BAD", "--time-unit", "fortnight"], csv: csv("symbol,ts,v\na,20,1\n"), message: "--time-unit"),
        Case(name: "args: bad time", args: ["dump", "DB", "t", "--from", "yesterday"], message: "ISO-8601"),
        Case(name: "args: bad format", args: ["dump", "DB", "t", "--format", "xml"], message: "format"),
        Case(name: "args: database is a file", args: ["dump", "BAD", "t"], csv: csv("x\n"), message: "not a directory"),
        Case(name: "args: database missing (compact)", args: ["compact", "DIR/none"], message: "does not exist"),
        Case(name: "args: database missing (verify)", args: ["verify", "DIR/none"], message: "does not exist"),
        Case(name: "args: CSV missing", args: ["import", "DB", "t", "DIR/none.csv"], message: "does not exist"),
        Case(name: "args: CSV is a directory", args: ["import", "DB", "t", "DIR"], message: "directory"),
        Case(name: "args: zero runs", args: ["bench", "DB", "--runs", "0"], message: "--runs"),
        // SQL
        Case(name: "sql: empty", args: ["query", "DB", ""], message: "syntax error"),
        Case(name: "sql: incomplete", args: ["query", "DB", "SELECT"], message: "syntax error at position 7"),
        Case(name: "sql: unknown table", args: ["query", "DB", "SELECT * FROM nosuch"], message: "no table named nosuch"),
        Case(name: "sql: unknown column", args: ["query", "DB", "SELECT nosuch FROM t"], message: "nosuch"),
        Case(name: "sql: unterminated string", args: ["query", "DB", "SELECT v FROM t WHERE symbol = 'a"], message: "syntax error"),
        Case(name: "sql: trailing statement", args: ["query", "DB", "SELECT v FROM t; DROP TABLE t"], message: "expected the end of the query"),
        Case(name: "sql: unknown function", args: ["query", "DB", "SELECT frob(v) FROM t"], message: "unknown function frob()"),
        Case(name: "sql: bad bucket", args: ["query", "DB", "SELECT count(*) FROM t SAMPLE BY 0m"], message: "SAMPLE BY"),
        Case(name: "sql: nested too deep", args: ["query", "DB", "SELECT " + String(repeating: "(", count: 2000) + "v" + String(repeating: ")", count: 2000) + " FROM t"], message: "nesting no deeper than 64"),
        Case(name: "sql: too many terms", args: ["query", "DB", "SELECT " + Array(repeating: "v", count: 3000).joined(separator: "+") + " FROM t"], message: "nesting no deeper than 64"),
        Case(name: "sql: bad time literal", args: ["query", "DB", "SELECT v FROM t WHERE ts > 'not a time'"], message: "not a time"),
        // Parquet files (BADPQ: a .parquet file holding `csv`), damaged copies of a good one
        Case(name: "parquet: truncated file", args: ["import", "DB", "t", "BADPQ"], csv: Array(BadParquet.good(.zstd).prefix(BadParquet.good(.zstd).count / 2)), message: "not a Parquet file"),
        Case(name: "parquet: wrong magic", args: ["import", "DB", "t", "BADPQ"], csv: Array("PAR2".utf8) + BadParquet.good(.zstd).dropFirst(4), message: "not a Parquet file"),
        Case(name: "parquet: footer length past the file", args: ["import", "DB", "t", "BADPQ"], csv: BadParquet.footerLength(0x7FFF_FFF0), message: "damaged footer"),
        Case(name: "parquet: footer that is not Thrift", args: ["import", "DB", "t", "BADPQ"], csv: BadParquet.zeroedFooter(), message: "damaged footer"),
        Case(name: "parquet: a page whose sizes lie", args: ["import", "DB", "t", "BADPQ"], csv: BadParquet.lyingPage(), message: "sizes lie"),
        Case(name: "parquet: data that does not decompress", args: ["import", "DB", "t", "BADPQ"], csv: BadParquet.undecompressable(), message: "does not decompress"),
        Case(name: "parquet: text into a float64 column", args: ["import", "DB", "t", "BADPQ"], csv: BadParquet.good(.zstd, valueType: .string), message: "float64 column"),
        Case(name: "export: unknown partition", args: ["export", "DB", "t", "DIR/out", "--partition", "month"], message: "--partition"),
        Case(name: "export: unknown codec", args: ["export", "DB", "t", "DIR/out", "--codec", "brotli"], message: "--codec"),
        Case(name: "export: partitions for CSV", args: ["export", "DB", "t", "DIR/out.csv", "--format", "csv", "--partition", "symbol"], message: "--partition is for Parquet"),
        Case(name: "export: into a directory that is not empty", args: ["export", "DB", "t", "DIR"], message: "is not empty"),
        Case(name: "export: unknown table", args: ["export", "DB", "nope", "DIR/out"], message: "no table named nope"),
        Case(name: "export: unknown time zone", args: ["export", "DB", "t", "DIR/out", "--partition", "symbol,month", "--time-zone", "Mars/Base"], message: "unknown time zone"),
    ]

    /// Names and contents of every file under `path`.
    static func state(_ path: String) -> [String: Data] {
        var out: [String: Data] = [:]
        let names = (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? []
        for name in names { out[name] = FileManager.default.contents(atPath: path + "/" + name) ?? Data() }
        return out
    }

    @Test(arguments: catalogue)
    func badInputIsRefusedAndChangesNothing(_ c: Case) throws {
        let dir = TempDir("strata-bad")
        defer { dir.cleanup() }
        let db = dir.sub("db")
        do {
            let d = try Database.open(db)
            try d.write { tx in
                try tx.createTable("t", schema: Schema(columns: [Column("v", .float64)]))
                try tx.append(to: "t", symbol: "a", time: 10, values: [.float64(1.5)])
            }
            d.close()
        }
        try Data(c.csv).write(to: URL(fileURLWithPath: dir.sub(c.args.contains("BADPQ") ? "bad.parquet" : "bad.csv")))
        let before = Self.state(dir.path)
        let args = c.args.map { a in
            a == "DB" ? db : a == "BAD" ? dir.sub("bad.csv") : a == "BADPQ" ? dir.sub("bad.parquet") : a == "DIR" ? dir.path
                : a.replacingOccurrences(of: "DIR/", with: dir.path + "/")
        }
        let r = try CLI.run(args, cwd: dir.path)
        #expect(r.code == 1, "\(c.name): exit \(r.code), \(r.err)")
        #expect(r.err.hasPrefix("error: "), "\(c.name): \(r.err)")
        #expect(r.err.contains(c.message), "\(c.name): \(r.err)")
        #expect(!r.err.contains("Fatal error") && !r.err.contains("Backtrace"), "\(c.name): \(r.err)")
        #expect(Self.state(dir.path) == before, "\(c.name): files changed")
        #expect(Database.verify(db).isIntact)
    }

    /// A table name that is not UTF-8 (raw bytes in argv) is refused too.
    @Test func nonUTF8TableName() throws {
        let dir = TempDir("strata-bad")
        defer { dir.cleanup() }
        try "symbol,ts,v\na,20,1\n".write(toFile: dir.sub("good.csv"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.currentDirectoryURL = CLI.workingDirectory
        p.arguments = ["-c", "\"$0\" import \"$1\" \"$(printf 'bad\\377name')\" \"$2\"", CLI.binary, dir.sub("db"), dir.sub("good.csv")]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 1, "\(text)")
        #expect(text.contains("table name"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: dir.sub("db")))
    }

    /// The same rules hold in the Swift API: names are checked before anything is written.
    @Test func apiRefusesBadNames() throws {
        let dir = TempDir("strata-bad")
        defer { dir.cleanup() }
        let db = try Database.open(dir.path)
        for name in ["", "..", "../x", "a/b", ".x", Self.longName, "a\u{0}b", "tab\tle"] {
            #expect(throws: StrataError.self, "\(name.debugDescription)") {
                try db.write { tx in try tx.createTable(name, schema: Schema(columns: [Column("v", .int64)])) }
            }
        }
        try db.write { tx in try tx.createTable("t", schema: Schema(columns: [Column("v", .int64)])) }
        for symbol in ["", Self.longSymbol] {
            #expect(throws: StrataError.self) {
                try db.write { tx in try tx.append(to: "t", symbol: symbol, time: 1, values: [.int64(1)]) }
            }
        }
        #expect(try db.snapshot().tables == ["t"])
        #expect(try db.snapshot().rowCount("t") == 0)
    }
}

/// A good Parquet file of table t's shape (symbol, ts, v), and damaged copies of it.
enum BadParquet {
    static func good(_ codec: ParquetCodec, valueType: ColumnType = .float64) -> [UInt8] {
        let path = NSTemporaryDirectory() + "strata-badparquet-\(UUID().uuidString).parquet"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try! ParquetFileWriter(path: path, fields: [
            .init(name: "symbol", type: .string, optional: false), .init(name: "ts", type: .int64, optional: false, timeUnit: .milliseconds),
            .init(name: "v", type: valueType, optional: false),
        ], codec: codec)
        var v = ColumnBuffer(type: valueType)
        for k in 0..<100 { if valueType == .string { v.append(string: "x\(k)") } else { v.append(Int64(bitPattern: Double(k).bitPattern)) } }
        var s = ColumnBuffer(type: .string)
        for _ in 0..<100 { s.append(string: "a") }
        try! w.writeRowGroup([s, ColumnBuffer(bits: (0..<100).map { 100 + Int64($0) }), v], 0..<100)
        _ = try! w.finish()
        return [UInt8](FileManager.default.contents(atPath: path)!)
    }

    static func footerLength(_ n: UInt32) -> [UInt8] {
        var b = good(.zstd)
        withUnsafeBytes(of: n.littleEndian) { for k in 0..<4 { b[b.count - 8 + k] = $0[k] } }
        return b
    }

    static func zeroedFooter() -> [UInt8] {
        var b = good(.zstd)
        let length = Int(b[b.count - 8]) | Int(b[b.count - 7]) << 8
        for k in (b.count - 8 - length)..<(b.count - 8) { b[k] = 0xFF }
        return b
    }

    /// The first page's header rewritten to claim more stored bytes than its chunk has.
    static func lyingPage() -> [UInt8] {
        let b = good(.uncompressed)
        let old = b.withUnsafeBytes { raw in
            var r = ThriftReader(raw, at: 4)
            _ = try! r.readStruct()
            return r.position
        }
        var w = ThriftWriter()
        w.structValue { p in
            p.i32(1, 0)
            p.i32(2, 400)
            p.i32(3, 1 << 30)
            p.structField(5) { d in
                d.i32(1, 100)
                d.i32(2, 0)
                d.i32(3, 3)
                d.i32(4, 3)
            }
        }
        return Array(b[0..<4]) + w.bytes + Array(b[old...])
    }

    /// The first page's zstd data zeroed.
    static func undecompressable() -> [UInt8] {
        var b = good(.zstd)
        let start = b.withUnsafeBytes { raw in
            var r = ThriftReader(raw, at: 4)
            _ = try! r.readStruct()
            return r.position
        }
        for k in start..<start + 8 { b[k] = 0 }
        return b
    }
}
