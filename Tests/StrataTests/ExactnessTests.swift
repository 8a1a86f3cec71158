import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// Values and names come back exactly: the extreme times, and symbols and column names that are
/// different bytes but the same Unicode text.
@Suite(.serialized) struct ExactnessTests {
    @Test func dumpKeepsTheRowAtTheLargestTime() throws {
        let dir = TempDir("strata-exact")
        defer { dir.cleanup() }
        let csv = dir.sub("t.csv")
        try "symbol,ts,v\nA,-9223372036854775808,1\nA,-1,2\nA,0,3\nA,9223372036854775806,4\nA,9223372036854775807,5\nA,9223372036854775807,6\nB,9223372036854775807,7\n"
            .write(toFile: csv, atomically: false, encoding: .utf8)
        let db = dir.sub("db")
        #expect(try CLI.run(["import", db, "t", csv]).code == 0)
        let count = try CLI.run(["query", db, "SELECT count(*) AS n FROM t", "--format", "csv"])
        #expect(count.out == "n\n7\n")
        let dump = try CLI.run(["dump", db, "t", "--format", "csv"])
        #expect(dump.out.split(separator: "\n").count == 8, "\(dump.out)")
        #expect(dump.out.hasSuffix("A,9223372036854775807,5\nA,9223372036854775807,6\nB,9223372036854775807,7\n"))
        // --to stays exclusive; without it the range runs to the last row.
        let upTo = try CLI.run(["dump", db, "t", "--to", "9223372036854775807", "--format", "csv"])
        #expect(upTo.out.split(separator: "\n").count == 5)
        let snap = try Database.open(db, options: .readOnly).snapshot()
        var rows = 0
        try snap.scan("t", symbol: "A") { rows += $0.count }
        #expect(rows == 6)
    }

    /// The output's fast decimal path writes what `description` writes, for decimals of every
    /// scale and size, both signs, the edges of the fast range, and random bit patterns.
    @Test func numbersAreWrittenAsDescriptionWritesThem() throws {
        let dir = TempDir("strata-numbers")
        defer { dir.cleanup() }
        var rng = SplitMix(seed: 0x5EED)
        var values: [Double] = [0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                                1e-3, 1e-3.nextDown, 1e-3.nextUp, 1e15, 1e15.nextDown, 999_999_999_999_999, 0.1 + 0.2, 5e-324]
        for _ in 0..<40_000 {
            let digits = Int64(rng.next() % 1_000_000_000_000_000_000 >> (rng.next() % 60))
            let scale = Double(sign: .plus, exponent: 0, significand: 1) * pow(10, Double(rng.next() % 19))
            let v = Double(digits) / scale
            values.append(rng.next() % 2 == 0 ? v : -v)
            values.append(Double(bitPattern: rng.next()))
            values.append(v.nextUp)
        }
        // Without a hint, and with one hint carried along as a column's is (raised by values of more
        // places, so that later values of fewer places are tried at too many and lose their zeros).
        var hint = 0
        let lines = try Self.lines(dir, values.count) { out, i in
            out.append(shortest: values[i])
            out.append(UInt8(ascii: ","))
            out.append(shortest: values[i], scaleHint: &hint)
        }
        #expect(hint == 17)  // 0.001 and 14 more digits
        for (i, v) in values.enumerated() where lines[i] != "\(v.description),\(v.description)" {
            Issue.record("\(v.bitPattern): wrote \(lines[i]), description \(v.description)")
            break
        }
    }

    /// Integers and decimals of every length, through the hint each column carries: a price column
    /// whose places change from row to row, and integers at the edges of Int64.
    @Test func hintedColumnsWriteWhatDescriptionWrites() throws {
        let dir = TempDir("strata-hints")
        defer { dir.cleanup() }
        var rng = SplitMix(seed: 0xC0FFEE)
        var ints: [Int64] = [0, 1, -1, 9, 10, 99, 100, .max, .min, .min + 1, 9_999_999_999, 10_000_000_000]
        for _ in 0..<20_000 { ints.append(Int64(bitPattern: rng.next()) >> (rng.next() % 64)) }
        var prices: [Double] = []
        for _ in 0..<20_000 {
            let places = Int(rng.next() % 7)
            let v = Double(Int64(rng.next() % 10_000_000)) / pow(10, Double(places))
            prices.append(rng.next() % 5 == 0 ? -v : v)
        }
        var hint = 0
        let lines = try Self.lines(dir, prices.count) { out, i in
            out.append(decimal: ints[i % ints.count])
            out.append(UInt8(ascii: ","))
            out.append(shortest: prices[i], scaleHint: &hint)
        }
        for (i, p) in prices.enumerated() where lines[i] != "\(ints[i % ints.count]),\(p.description)" {
            Issue.record("wrote \(lines[i]), want \(ints[i % ints.count]),\(p.description)")
            break
        }
    }

    /// The lines an `OutputFile` holds after `write` wrote `count` of them (each without its newline).
    static func lines(_ dir: TempDir, _ count: Int, _ write: (OutputFile, Int) -> Void) throws -> [Substring] {
        let path = dir.sub("lines.txt")
        let out = try OutputFile(creating: path)
        for i in 0..<count {
            write(out, i)
            out.append(UInt8(ascii: "\n"))
        }
        try out.finish()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == count)
        return lines
    }

    @Test func symbolsAndNamesCompareAsBytes() throws {
        let dir = TempDir("strata-bytes")
        defer { dir.cleanup() }
        let composed = "\u{E9}"            // é, one scalar: C3 A9
        let decomposed = "e\u{301}"        // e + combining acute: 65 CC 81
        #expect(composed == decomposed)   // the same text to Swift
        let csv = dir.sub("t.csv")
        try "symbol,ts,v\n\(composed),1,10\n\(decomposed),2,20\n\(composed),3,30\n".write(toFile: csv, atomically: false, encoding: .utf8)
        let db = dir.sub("db")
        #expect(try CLI.run(["import", db, "t", csv]).code == 0)
        let snap = try Database.open(db, options: .readOnly).snapshot()
        let symbols = snap.symbols(of: "t")
        #expect(symbols.map { Array($0.utf8) } == [[0x65, 0xCC, 0x81], [0xC3, 0xA9]])
        #expect(snap.rowCount("t", symbol: composed) == 2)
        #expect(snap.rowCount("t", symbol: decomposed) == 1)
        let dump = try CLI.run(["dump", db, "t", "--format", "csv"])
        #expect(Array(dump.out.utf8) == Array("symbol,ts,v\n\(decomposed),2,20\n\(composed),1,10\n\(composed),3,30\n".utf8))
        let grouped = try snap.query("SELECT symbol, count(*) AS n, sum(v) AS s FROM t GROUP BY symbol")
        #expect(grouped.rowCount == 2)
        let one = try snap.query("SELECT count(*) FROM t WHERE symbol = '\(composed)'")
        #expect(one[0, 0] == .int(2))
        let other = try snap.query("SELECT count(*) FROM t WHERE symbol != '\(composed)'")
        #expect(other[0, 0] == .int(1))
        #expect(ResultValue.string(composed) != ResultValue.string(decomposed))
        // Column names too: two columns whose names are the same text in different bytes.
        let columns = dir.sub("c.csv")
        try "symbol,ts,\(composed),\(decomposed)\nA,1,1,2\n".write(toFile: columns, atomically: false, encoding: .utf8)
        #expect(try CLI.run(["import", db, "c", columns]).code == 0)
        let c = try Database.open(db, options: .readOnly).snapshot()
        #expect(c.schema(of: "c")?.columns.map { Array($0.name.utf8) } == [[0xC3, 0xA9], [0x65, 0xCC, 0x81]])
        #expect(c.schema(of: "c")?.columnIndex(decomposed) == 1)
    }
}
