import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// Runs the real `strata` binary, built next to the test bundle.
struct CLI {
    static let binary: String = {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("strata").path) && dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("strata").path
    }()

    /// Where child processes start. The README tests change the process's working directory to a
    /// temporary one and delete it afterwards, while other suites run in parallel; a child that
    /// inherited it would start in a deleted directory (chdb's import fails there), so every
    /// child gets this one.
    static let workingDirectory = URL(fileURLWithPath: NSTemporaryDirectory())

    struct Result {
        var code: Int32
        var out: String
        var err: String
    }

    @discardableResult
    static func run(_ args: [String], cwd: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = cwd.map { URL(fileURLWithPath: $0) } ?? workingDirectory
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(code: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }
}

@Suite(.serialized) struct CLITests {
    @Test func sampleDataEndToEnd() throws {
        let dir = TempDir("strata-cli")
        defer { dir.cleanup() }
        let gen = try CLI.run(["generate", dir.sub("data"), "--preset", "tiny"])
        #expect(gen.code == 0, "\(gen.err)")
        let db = dir.sub("prices.db")
        for (table, file, extra) in [("bars", "bars_1m.csv", [String]()), ("fund_shares", "fund_shares.csv", []), ("ticks", "ticks.csv", ["--time-unit", "ns"])] {
            let r = try CLI.run(["import", db, table, dir.sub("data/" + file)] + extra)
            #expect(r.code == 0, "\(r.err)")
            #expect(r.out.hasPrefix("imported "))
        }
        // The dump gives back the CSV byte for byte (the generator writes shortest decimals except
        // trailing zeros, so compare parsed values).
        let dump = try CLI.run(["dump", db, "bars"])
        #expect(dump.code == 0)
        let original = try String(contentsOfFile: dir.sub("data/bars_1m.csv"), encoding: .utf8)
        let a = original.split(separator: "\n"), b = dump.out.split(separator: "\n")
        #expect(a.count == b.count)
        #expect(a.first == b.first)
        for (x, y) in zip(a.dropFirst(), b.dropFirst()) {
            let fx = x.split(separator: ","), fy = y.split(separator: ",")
            #expect(fx[0] == fy[0] && fx[1] == fy[1] && fx[6] == fy[6])
            for k in [2, 3, 4, 5, 7] { #expect(Double(fx[k])! == Double(fy[k])!) }
        }
        let info = try CLI.run(["info", db, "--json"])
        #expect(info.code == 0)
        let json = try JSONSerialization.jsonObject(with: Data(info.out.utf8)) as! [String: Any]
        let tables = json["tables"] as! [[String: Any]]
        #expect(tables.map { $0["name"] as! String } == ["bars", "fund_shares", "ticks"])
        #expect(tables[0]["rows"] as! Int == a.count - 1)
        let verify = try CLI.run(["verify", db])
        #expect(verify.code == 0, "\(verify.out)")

        // strata query: the three forms of the issue, in each output format.
        let symbols = Set(a.dropFirst().map { $0.split(separator: ",")[0] })
        let daily = try CLI.run(["query", db, """
            SELECT symbol, ts, first(open) AS open, max(high) AS high, min(low) AS low, last(close) AS close, sum(volume) AS volume
            FROM bars SAMPLE BY 1d ALIGN TO CALENDAR TIME ZONE 'Asia/Shanghai' ORDER BY symbol, ts
            """, "--format", "csv", "--timing"])
        #expect(daily.code == 0, "\(daily.err)")
        let lines = daily.out.split(separator: "\n")
        #expect(lines.first == "symbol,ts,open,high,low,close,volume")
        #expect(lines.count - 1 == symbols.count * 5)  // tiny preset: 5 trading days per symbol
        #expect(daily.err.hasPrefix("time: ") && daily.err.hasSuffix(" ms\n"))
        let total = lines.dropFirst().reduce(0) { $0 + Int($1.split(separator: ",")[6])! }
        #expect(total == a.dropFirst().reduce(0) { $0 + Int($1.split(separator: ",")[6])! })
        let latest = try CLI.run(["query", db, "SELECT symbol, ts, close FROM bars LATEST ON ts PARTITION BY symbol", "--format", "jsonl"])
        #expect(latest.code == 0, "\(latest.err)")
        let objects = latest.out.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.count == symbols.count)
        #expect(latest.out.hasPrefix("{\"symbol\":"))
        let join = try CLI.run(["query", db, "SELECT count(*) AS n, sum(b.close * f.shares) AS cap FROM bars b ASOF JOIN fund_shares f ON (symbol) WHERE b.symbol = '159363'", "--format", "table"])
        #expect(join.code == 0, "\(join.err)")
        #expect(join.out.contains("n") && join.out.contains("(1 row)"))
        let bad = try CLI.run(["query", db, "SELECT FROM bars"])
        #expect(bad.code == 1 && bad.err.hasPrefix("error: syntax error at position 8"), "\(bad.err)")
        let unknown = try CLI.run(["query", db, "SELECT x FROM nope"])
        #expect(unknown.code == 1 && unknown.err.contains("no table named nope"))
    }

    /// `strata query` reads plainly valid arguments by hand and everything else through
    /// ArgumentParser: both give the same rows, and the errors and exit codes are ArgumentParser's.
    @Test func queryArgumentsReadEitherWayAgree() throws {
        let dir = TempDir("strata-cli-query")
        defer { dir.cleanup() }
        #expect(try CLI.run(["generate", dir.sub("data"), "--preset", "tiny"]).code == 0)
        let db = dir.sub("p.db")
        #expect(try CLI.run(["import", db, "bars", dir.sub("data/bars_1m.csv")]).code == 0)
        let sql = "SELECT symbol, count(*), sum(volume) FROM bars GROUP BY symbol"
        for format in ["csv", "jsonl", "table"] {
            let byHand = try CLI.run(["query", db, sql, "--format", format, "--repeat=2"])
            let reordered = try CLI.run(["query", "--format=\(format)", "--repeat", "2", db, sql])
            let parsed = try CLI.run(["query", "--format", format, "--repeat", "2", "--", db, sql])  // "--": ArgumentParser's way
            #expect(byHand.code == 0 && byHand.out.count > 40, "\(byHand.err)")
            #expect(byHand.out == reordered.out && byHand.out == parsed.out && parsed.code == 0, "\(format): \(parsed.err)")
        }
        let timed = try CLI.run(["query", db, sql, "--timing"])
        #expect(timed.err.hasPrefix("time: ") && timed.err.hasSuffix(" ms\n"))
        for bad in [["--repeat", "0"], ["--format", "xml"], ["--repeat=x"], ["--bogus"], ["--timing", "--format"]] {
            let r = try CLI.run(["query", db, sql] + bad)
            #expect(r.code == 1 && r.err.hasPrefix("error: "), "\(bad): \(r.code) \(r.err)")
        }
        #expect(try CLI.run(["query", db]).code == 1)
        #expect(try CLI.run(["query", db, sql, "extra"]).code == 1)
        let help = try CLI.run(["query", "--help"])
        #expect(help.code == 0 && help.out.contains("USAGE: strata query"))
    }

    @Test func valuesComeBackExactly() throws {
        let dir = TempDir("strata-cli")
        defer { dir.cleanup() }
        let csv = """
            ts,price,symbol,n
            -86400000,0.30000000000000004,000001,9223372036854775807
            -86400000,-0.0,000001,-9223372036854775808
            0,5e-324,01,0
            1,1.7976931348623157e+308,1,-1
            2,nan,"a,b",5
            3,-inf,"q""uote",6

            """
        try csv.write(toFile: dir.sub("v.csv"), atomically: true, encoding: .utf8)
        let db = dir.sub("v.db")
        let imp = try CLI.run(["import", db, "t", dir.sub("v.csv")])
        #expect(imp.code == 0, "\(imp.err)")
        let dump = try CLI.run(["dump", db, "t"])
        #expect(dump.out == csv)
        let jsonl = try CLI.run(["dump", db, "t", "--symbol", "01", "--symbol", "000001", "--format", "jsonl", "--to", "0"])
        #expect(jsonl.out == """
            {"ts":-86400000,"price":0.30000000000000004,"symbol":"000001","n":9223372036854775807}
            {"ts":-86400000,"price":-0.0,"symbol":"000001","n":-9223372036854775808}

            """)
    }

    /// Query output in CSV keeps a null and an empty text apart as `dump` does (an empty field, `""`),
    /// and JSON lines as `null` and `""`.
    @Test func queryOutputKeepsNullAndEmptyTextApart() throws {
        let dir = TempDir("strata-cli-empty")
        defer { dir.cleanup() }
        try "symbol,ts,name,n\nA,1,x,1\nA,2,,\nA,3,\"\",3\nA,4,\"a,\"\"b\",4\n".write(toFile: dir.sub("e.csv"), atomically: true, encoding: .utf8)
        let db = dir.sub("e.db")
        let imp = try CLI.run(["import", db, "t", dir.sub("e.csv")])
        #expect(imp.code == 0, "\(imp.err)")
        let csv = try CLI.run(["query", db, "SELECT ts, name, n FROM t", "--format", "csv"])
        #expect(csv.out == "ts,name,n\n1,x,1\n2,,\n3,\"\",3\n4,\"a,\"\"b\",4\n")
        let jsonl = try CLI.run(["query", db, "SELECT ts, name FROM t WHERE ts >= 2 AND ts <= 3", "--format", "jsonl"])
        #expect(jsonl.out == "{\"ts\":2,\"name\":null}\n{\"ts\":3,\"name\":\"\"}\n")
    }

    /// `export` as CSV writes what `dump` does; as Parquet (one file, or by symbol and month) it comes
    /// back through `import` to the same dump, symbol column in its place and no month column.
    @Test func exportRoundTripsThroughTheCLI() throws {
        let dir = TempDir("strata-cli-export")
        defer { dir.cleanup() }
        let csv = "ts,price,symbol,n\n-86400000,0.30000000000000004,000001,9223372036854775807\n2678400000,nan,000001,\n3,-inf,\"a,b\",6\n"
        try csv.write(toFile: dir.sub("v.csv"), atomically: true, encoding: .utf8)
        let db = dir.sub("v.db")
        #expect(try CLI.run(["import", db, "t", dir.sub("v.csv")]).code == 0)
        let dump = try CLI.run(["dump", db, "t"]).out
        let asCSV = try CLI.run(["export", db, "t", dir.sub("out.csv"), "--format", "csv"])
        #expect(asCSV.code == 0 && asCSV.out.hasPrefix("exported 3 rows of t to \(dir.sub("out.csv")): 1 file, "), "\(asCSV.out)\(asCSV.err)")
        #expect(try String(contentsOfFile: dir.sub("out.csv"), encoding: .utf8) == dump)
        for (k, args) in [["one.parquet"], ["lake", "--partition", "symbol,month"], ["bysym", "--partition", "symbol", "--codec", "lz4"]].enumerated() {
            let r = try CLI.run(["export", db, "t", dir.sub(args[0])] + args.dropFirst())
            #expect(r.code == 0, "\(r.err)")
            #expect(try CLI.run(["import", dir.sub("back\(k).db"), "t", dir.sub(args[0])]).code == 0)
            #expect(try CLI.run(["dump", dir.sub("back\(k).db"), "t"]).out == dump, "\(args)")
        }
        #expect(FileManager.default.fileExists(atPath: dir.sub("lake/symbol=000001/month=1969-12/part-0.parquet")))
        #expect(FileManager.default.fileExists(atPath: dir.sub("lake/symbol=000001/month=1970-02/part-0.parquet")))
        #expect(FileManager.default.fileExists(atPath: dir.sub("lake/symbol=a,b/month=1970-01/part-0.parquet")))
    }

    /// A column of integers for thousands of rows before its first decimal becomes float64, and every
    /// value, before and after the decimal, comes back exactly; an all-integer column stays int64.
    @Test func lateDecimalWidensTheColumn() throws {
        let dir = TempDir("strata-cli")
        defer { dir.cleanup() }
        var csv = "symbol,ts,amount,volume,flag\n"
        for i in 0..<5000 { csv += "159363,\(i),\(i * 1000),\(i * 100),\(i % 2)\n" }
        csv += "159363,5000,12.5,100,1.0\n"
        for i in 5001..<5010 { csv += "159363,\(i),\(i),100,0\n" }
        try csv.write(toFile: dir.sub("late.csv"), atomically: true, encoding: .utf8)
        let db = dir.sub("db")
        let r = try CLI.run(["import", db, "t", dir.sub("late.csv")])
        #expect(r.code == 0, "\(r.err)")
        let snap = try Database.open(db, options: .readOnly).snapshot()
        #expect(snap.schema(of: "t")!.columns.map(\.type) == [.float64, .int64, .float64])
        let dump = try CLI.run(["dump", db, "t"]).out.split(separator: "\n")
        #expect(dump.count == 5011)
        #expect(dump[1] == "159363,0,0.0,0,0.0")
        #expect(dump[5001] == "159363,5000,12.5,100,1.0")
        #expect(dump[5010] == "159363,5009,5009.0,100,0.0")
    }

    /// Each bad input fails with exit code 1, names the file and line, and changes nothing.
    @Test(arguments: [
        ("text in a number column", "symbol,ts,v\na,1,1\na,2,abc\n", "line 3, column v"),
        ("short row", "symbol,ts,v\na,1,1\na,2\n", "line 3"),
        ("long row", "symbol,ts,v\na,1,1,9\n", "line 2"),
        ("unterminated quote", "symbol,ts,v\na,1,\"1\n", "line 2"),
        ("overflowing integer", "symbol,ts,v\na,1,99999999999999999999\n", "line 2, column v"),
        ("time overflowing Int64", "symbol,ts,v\na,5,1\nb,1,1\na,99999999999999999999,1\n", "line 4"),
        ("time not an integer", "symbol,ts,v\na,x,1\n", "line 2, column ts"),
        ("quoted empty text in a number column", "symbol,ts,v\na,1,1\na,2,\"\"\n", "line 3, column v"),
        ("missing symbol column", "sym,ts,v\na,1,1\n", "symbol column"),
        ("empty symbol", "symbol,ts,v\n,1,1\n", "line 2"),
        ("duplicate column", "symbol,ts,v,v\na,1,1,1\n", "twice"),
        ("empty file", "", "empty"),
        ("binary file", "symbol,ts\u{0}\u{1}\u{2}", "binary"),
    ])
    func badCSVIsRefusedAndChangesNothing(_ c: (String, String, String)) throws {
        let dir = TempDir("strata-cli")
        defer { dir.cleanup() }
        let db = dir.sub("db")
        try "symbol,ts,v\nz,10,1\n".write(toFile: dir.sub("good.csv"), atomically: true, encoding: .utf8)
        #expect(try CLI.run(["import", db, "t", dir.sub("good.csv")]).code == 0)
        let before = try CLI.run(["dump", db, "t"]).out
        try c.1.write(toFile: dir.sub("bad.csv"), atomically: true, encoding: .utf8)
        for table in ["t", "fresh"] {
            let r = try CLI.run(["import", db, table, dir.sub("bad.csv")])
            #expect(r.code == 1, "\(c.0): \(r.err)")
            #expect(r.err.hasPrefix("error: "), "\(c.0)")
            if table == "fresh" { #expect(r.err.contains(c.2), "\(c.0): \(r.err)") }
        }
        #expect(try CLI.run(["dump", db, "t"]).out == before)
        let info = try CLI.run(["info", db, "--json"])
        #expect(!info.out.contains("\"fresh\""))
        // A failed first import leaves no database behind.
        let r = try CLI.run(["import", dir.sub("new.db"), "t", dir.sub("bad.csv")])
        #expect(r.code == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.sub("new.db")))
    }

    /// `strata info` lists a column's encodings by how many blocks use them, ties by name: the same
    /// text in every process (dictionary order changes with each process's hash seed).
    @Test func infoListsTiedEncodingsInOneOrder() throws {
        let dir = TempDir("strata-cli")
        defer { dir.cleanup() }
        let db = dir.sub("db")
        let handle = try Database.open(db, options: DatabaseOptions(blockRows: 10, autoCompaction: .off))
        var rng = SplitMix(seed: 5)
        try handle.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("v", .int64)]))
            for block in 0..<4 {
                let times = (0..<10).map { Int64(block * 10 + $0) * 1_000 }
                let v = times.map { _ in block % 2 == 0 ? 1 : Int64(bitPattern: rng.next()) }
                try tx.append(to: "t", symbol: "a", times: times, columns: [.int64(v)])
            }
        }
        handle.close()
        let first = try CLI.run(["info", db])
        #expect(first.code == 0)
        let line = try #require(first.out.split(separator: "\n").first { $0.hasPrefix("  v ") })
        try #require(line.components(separatedBy: "×2").count == 3, "two encodings of two blocks each: \(line)")
        for _ in 0..<7 { #expect(try CLI.run(["info", db]).out == first.out) }
    }

    @Test func lockedAndDamagedExitCodes() throws {
        let dir = TempDir("strata-cli")
        defer { dir.cleanup() }
        let db = dir.sub("db")
        try "symbol,ts,v\na,10,1.5\n".write(toFile: dir.sub("good.csv"), atomically: true, encoding: .utf8)
        #expect(try CLI.run(["import", db, "t", dir.sub("good.csv")]).code == 0)
        do {
            let holder = try Database.open(db)
            let r = try CLI.run(["import", db, "t", dir.sub("good.csv")])
            #expect(r.code == 3)
            #expect(r.err.contains("locked by another writer"))
            holder.close()
        }
        // Flip one byte of the first chunk of the payload (file header 24 bytes, block header 56 + 2 × 80).
        let file = dir.sub("db/d00000001.sdf")
        var bytes = [UInt8](FileManager.default.contents(atPath: file)!)
        bytes[24 + 216 + 1] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let v = try CLI.run(["verify", db])
        #expect(v.code == 2)
        #expect(v.out.contains("d00000001.sdf, table t, symbol a, block 0"))
        let d = try CLI.run(["dump", db, "t"])
        #expect(d.code == 2)
    }
}

/// The quants' questions of the README (issue 17) through the command line, on generated data.
@Suite struct QuantQuestionsTests {
    @Test func readmeWindowAndSessionQueriesRun() throws {
        let dir = TempDir("strata-quant")
        defer { dir.cleanup() }
        #expect(try CLI.run(["generate", dir.sub("data"), "--preset", "tiny"]).code == 0)
        let db = dir.sub("prices.db")
        #expect(try CLI.run(["import", db, "bars", dir.sub("data/bars_1m.csv")]).code == 0)
        func csv(_ sql: String) throws -> [[String]] {
            let r = try CLI.run(["query", db, sql, "--format", "csv"])
            #expect(r.code == 0, "\(sql): \(r.err)")
            return r.out.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        }
        let daily = try csv("""
            SELECT symbol, ts, close, close / lag(close) OVER w - 1 AS ret, avg(close) OVER (w ROWS 19 PRECEDING) AS ma20
            FROM (SELECT symbol, ts, last(close) AS close FROM bars SAMPLE BY 1d ALIGN TO CALENDAR TIME ZONE 'Asia/Shanghai')
            WINDOW w AS (PARTITION BY symbol ORDER BY ts)
            """)
        #expect(daily[0] == ["symbol", "ts", "close", "ret", "ma20"])
        var previous: [String: (Double, [Double])] = [:]
        for row in daily.dropFirst() {
            let close = Double(row[2])!
            if let (p, window) = previous[row[0]] {
                #expect(abs(Double(row[3])! - (close / p - 1)) < 1e-12)
                let w = Array((window + [close]).suffix(20))
                #expect(abs(Double(row[4])! - w.reduce(0, +) / Double(w.count)) < 1e-9)
                previous[row[0]] = (close, w)
            } else {
                #expect(row[3] == "", "the first day of a symbol has no return")
                previous[row[0]] = (close, [close])
            }
        }
        let candles = try csv("""
            SELECT symbol, ts, first(open), max(high), min(low), last(close), sum(volume), vwap(close, volume), twap(close)
            FROM bars WHERE symbol = '159363' SAMPLE BY 30m ALIGN TO SESSION 'XSHG'
            """)
        #expect(candles.count > 8)
        for row in candles.dropFirst() {
            let local = (Int64(row[1])! / 60_000 + 480) % 1440  // minutes after local midnight
            #expect([570, 600, 630, 660, 780, 810, 840, 870].contains(local), "a bucket starts at \(local / 60):\(local % 60)")
        }
        let vol = try csv("""
            SELECT ts, stddev(ln(close / lag(close) OVER w)) OVER (w ROWS 59 PRECEDING) AS vol
            FROM bars WHERE symbol = '588730' AND SESSION 'XSHG' = 'afternoon' WINDOW w AS (PARTITION BY symbol ORDER BY ts)
            """)
        #expect(vol.count > 100)
        for row in vol.dropFirst() {
            let local = (Int64(row[0])! / 60_000 + 480) % 1440
            #expect(local >= 780 && local < 900, "afternoon rows only")
            if let v = Double(row[1]) { #expect(v >= 0) }
        }
    }
}
