import Foundation
import Testing
@testable import Strata

#if canImport(Glibc)
import Glibc
#endif

/// `strata shell`: driven through a pipe and through a pseudo-terminal (line editing, history).
@Suite(.serialized) struct ShellTests {
    static func database(_ dir: TempDir) throws -> String {
        let path = dir.sub("db")
        let db = try Database.open(path)
        try db.write { tx in
            try tx.createTable("bars", schema: Schema(columns: [Column("close", .float64), Column("volume", .int64)]))
            for k in 0..<5 { try tx.append(to: "bars", symbol: k < 3 ? "A" : "B", time: Int64(k) * 60_000, values: [.float64(1 + Double(k) / 10), .int64(Int64(k) * 100)]) }
        }
        try db.close()
        return path
    }

    /// Runs `strata shell` with `input` on standard input through a pipe.
    static func piped(_ args: [String], _ input: String) throws -> CLI.Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args
        p.currentDirectoryURL = CLI.workingDirectory
        let stdin = Pipe(), out = Pipe(), err = Pipe()
        p.standardInput = stdin
        p.standardOutput = out
        p.standardError = err
        try p.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLI.Result(code: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    @Test func scriptsFromAPipe() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let db = try Self.database(dir)
        let script = """
            .tables
            .schema bars
            -- a comment; with a semicolon
            SELECT symbol, count(*) AS n
              FROM bars GROUP BY symbol; SELECT 'a;b' AS t FROM bars LIMIT 1;
            .mode jsonl
            SELECT symbol, close - lag(close) OVER (PARTITION BY symbol ORDER BY ts) AS d FROM bars WHERE symbol = 'A';
            SELECT nope FROM bars;
            EXPLAIN SELECT sum(volume) FROM bars
            """
        let r = try Self.piped(["shell", db], script)
        #expect(r.code == 1, "a failed statement makes the exit code 1")
        #expect(r.err == "error: unknown column nope (columns: bars.symbol, bars.ts, bars.close, bars.volume)\n")
        let expected = """
            bars
            table bars: symbol symbol, time ts (ms)
              close float64
              volume int64
            symbol,n
            A,3
            B,2
            t
            a;b
            {"symbol":"A","d":null}
            {"symbol":"A","d":0.10000000000000009}
            {"symbol":"A","d":0.09999999999999987}
            {"plan":"scan table bars"}
            """
        #expect(r.out.hasPrefix(expected), "\(r.out)")
        #expect(r.out.contains("answered from statistics"))
        let ok = try Self.piped(["shell", db, "--format", "csv"], "SELECT count(*) FROM bars;\n.quit\nSELECT nope;\n")
        #expect(ok.code == 0 && ok.out == "count(*)\n5\n", "\(ok)")
    }

    /// A pseudo-terminal: the prompt, editing keys, a statement over two lines, history recall.
    @Test func editsLinesOnATerminal() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let db = try Self.database(dir)
        var master: Int32 = 0, slave: Int32 = 0
        guard openpty(&master, &slave, nil, nil, nil) == 0 else {
            Issue.record("openpty failed")
            return
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["shell", db]
        p.currentDirectoryURL = CLI.workingDirectory
        p.environment = ["HOME": dir.path, "TERM": "dumb"]
        let tty = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        p.standardInput = tty
        p.standardOutput = tty
        p.standardError = tty
        try p.run()
        close(slave)
        let collected = Collected()
        let fd = master
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                collected.append(buffer[0..<n])
            }
        }
        reader.start()
        func type(_ s: String) {
            _ = s.utf8CString.withUnsafeBufferPointer { write(master, $0.baseAddress, $0.count - 1) }
            Thread.sleep(forTimeInterval: 0.15)
        }
        Thread.sleep(forTimeInterval: 0.3)
        type("SELECT count(*) FRM bars\u{1B}[D\u{1B}[D\u{1B}[D\u{1B}[D\u{1B}[D\u{1B}[DO\u{05};\r")  // fix FRM -> FROM, then End
        type("SELECT sum(volume)\r")
        type("  FROM bars;\r")  // a statement over two lines
        type("\u{1B}[A\u{1B}[A\r")  // the first statement again, from history
        type("SELECT junk\u{03}")  // Ctrl-C drops the line
        type(".quit\r")
        p.waitUntilExit()
        reader.cancel()
        close(master)
        let out = collected.text
        #expect(p.terminationStatus == 0, "\(out)")
        #expect(out.contains("strata> "))
        #expect(out.contains("   ...> "), "the continuation prompt: \(out)")
        #expect(out.components(separatedBy: "(1 row)").count == 4, "three results: count, sum, count again from history: \(out)")
        #expect(out.contains("1000\r\n(1 row)"), "sum(volume): \(out)")
        #expect(!out.contains("unknown column junk"))
        let history = try String(contentsOfFile: dir.sub(".strata_history"), encoding: .utf8)
        #expect(history == "SELECT count(*) FROM bars;\nSELECT sum(volume) FROM bars;\nSELECT count(*) FROM bars;\n", "\(history)")
    }
}

/// Bytes gathered by a reader thread.
final class Collected: @unchecked Sendable {
    private var bytes: [UInt8] = []
    private let lock = NSLock()
    func append(_ b: ArraySlice<UInt8>) { lock.lock(); bytes += b; lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: bytes, as: UTF8.self) }
}
