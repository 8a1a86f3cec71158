import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// CSV import against the rows that were written: random files with quoted fields (commas, doubled
/// quotes, line breaks), CRLF, integers written into float columns, missing or extra final line ends,
/// imported with section sizes that cut the file everywhere. The parallel section parser and the serial
/// reader must agree with the model, and report a bad row at the same line.
@Suite struct ImportTests {
    /// A spreadsheet's CSV starts with a UTF-8 byte order mark: it is not part of the first name.
    @Test func byteOrderMarkIsNotAName() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        try "\u{FEFF}symbol,ts,close\nA,1,1.5\n".write(toFile: dir.sub("bom.csv"), atomically: true, encoding: .utf8)
        let db = try Database.open(dir.sub("db"))
        _ = try CSVImporter.importFile(dir.sub("bom.csv"), into: "t", database: db)
        let snap = try db.snapshot()
        #expect(snap.schema(of: "t")?.symbolColumn == "symbol")
        #expect(try snap.query("SELECT symbol, close FROM t").rows == [[.string("A"), .float(1.5)]])
        db.close()
    }

    struct Model {
        var csv = ""
        /// Per symbol: time and each value column's bits, in file order.
        var rows: [String: [(Int64, [Int64])]] = [:]
        var lines = 0
        var floats = 0
    }

    static func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    static func makeCSV(seed: UInt64, rows: Int) -> Model {
        var rng = SplitMix(seed: seed)
        let floats = 1 + Int(rng.next() % 3), ints = Int(rng.next() % 3)
        var names = ["symbol", "ts"] + (0..<floats).map { "f\($0)" } + (0..<ints).map { "i\($0)" }
        names.shuffle(using: &rng)
        let crlf = rng.next() % 3 == 0
        let eol = crlf ? "\r\n" : "\n"
        let symbols = ["a", "159363", "01", "1", "x,y", "q\"t", "two\nlines", "ünï", "s\(seed)"]
        let fancy = rng.next() % 2 == 0  // quote the symbols that need it, and sometimes others
        let pool = fancy ? symbols : symbols.filter { !$0.contains(where: { ",\"\n".contains($0) }) }
        var m = Model()
        m.floats = floats
        m.csv = names.joined(separator: ",") + eol
        m.lines = 1
        var last: [String: Int64] = [:]
        for _ in 0..<rows {
            let s = pool[Int(rng.next() % UInt64(pool.count))]
            let t = (last[s] ?? -5_000) + Int64(rng.next() % 3)  // ties and pre-1970 times
            last[s] = t
            var values = [Int64](repeating: 0, count: floats + ints)
            var fields: [String] = []
            for name in names {
                switch name {
                case "symbol":
                    let needs = s.contains(where: { ",\"\n".contains($0) })
                    fields.append(needs || (fancy && rng.next() % 4 == 0) ? quoted(s) : s)
                case "ts": fields.append(String(t))
                default:
                    let k = Int(name.dropFirst())!
                    if name.hasPrefix("f") {
                        var text: String
                        switch rng.next() % 6 {
                        case 0: text = String(Int64(rng.next() % 1000) * 100)  // an integer in a float column
                        case 1: text = "\(EdgeValues.doubles[Int(rng.next() % UInt64(EdgeValues.doubles.count))])"
                        case 2: text = "\(Double(bitPattern: rng.next()))"
                        default: text = "\(Double(Int64(rng.next() % 5000) + 500) / 1000)"
                        }
                        if text.contains("nan") { text = "nan" }  // CSV has no NaN payloads
                        values[k] = Int64(bitPattern: Double(text)!.bitPattern)
                        fields.append(text)
                    } else {
                        let v = rng.next() % 4 == 0 ? EdgeValues.ints[Int(rng.next() % UInt64(EdgeValues.ints.count))] : Int64(rng.next() % 100_000)
                        values[floats + k] = v
                        fields.append(fancy && rng.next() % 8 == 0 ? quoted(String(v)) : String(v))
                    }
                }
            }
            m.csv += fields.joined(separator: ",") + eol
            m.lines += 1 + (fields.joined().filter { $0 == "\n" }.count)
            m.rows[s, default: []].append((t, values))
        }
        switch rng.next() % 3 {
        case 0: m.csv.removeLast()  // no line end after the last row ("\r\n" is one Character)
        case 1: m.csv += eol  // a trailing blank line
        default: break
        }
        return m
    }

    static func contents(_ db: Database) throws -> [String: [(Int64, [Int64])]] {
        let snap = try db.snapshot()
        var out: [String: [(Int64, [Int64])]] = [:]
        let schema = try #require(snap.schema(of: "t"))
        for symbol in snap.symbols(of: "t") {
            try snap.scan("t", symbol: symbol) { batch in
                for r in batch.rows {
                    let row: [Int64] = try schema.columns.indices.map { c in
                        switch try batch.type(c) {
                        case .int64: try batch.int64(c)[r]
                        case .float64: Int64(bitPattern: try batch.float64(c)[r].bitPattern)
                        case .string: { Issue.record("unexpected text column"); return 0 }()
                        }
                    }
                    out[symbol, default: []].append((try batch.times[r], row))
                }
            }
        }
        return out
    }

    @Test(arguments: 0..<10)
    func parallelImportMatchesTheRowsWritten(seed: UInt64) throws {
        let dir = TempDir("strata-import")
        defer { dir.cleanup() }
        let m = Self.makeCSV(seed: seed, rows: 400 + Int(seed) * 37)
        let csv = dir.sub("in.csv")
        try m.csv.write(toFile: csv, atomically: true, encoding: .utf8)
        for section in [1, 17, 64, 333, 1 << 30] {
            let path = dir.sub("db\(section)")
            let db = try Database.open(path)
            var options = CSVImportOptions()
            options.sectionBytes = section
            let result = try CSVImporter.importFile(csv, into: "t", database: db, options: options)
            #expect(result.rows == m.rows.values.map(\.count).reduce(0, +))
            let got = try Self.contents(db)
            // The model keeps f0, f1, ... then i0, i1, ...; the table keeps header order.
            let schema = try #require(try db.snapshot().schema(of: "t"))
            let order = schema.columns.map { c in
                c.name.hasPrefix("f") ? Int(c.name.dropFirst())! : m.floats + Int(c.name.dropFirst())!
            }
            #expect(Set(got.keys) == Set(m.rows.keys), "section \(section)")
            for (symbol, rows) in m.rows {
                let g = got[symbol] ?? []
                #expect(g.count == rows.count, "section \(section) symbol \(symbol)")
                for (a, b) in zip(g, rows) where a.0 != b.0 || a.1 != order.map({ b.1[$0] }) {
                    Issue.record("section \(section) symbol \(symbol): got \(a), wrote \(b)")
                    break
                }
            }
            db.close()
        }
    }

    @Test(arguments: 0..<6)
    func aBadRowIsReportedAtItsLineWhateverTheSectioning(seed: UInt64) throws {
        let dir = TempDir("strata-import-bad")
        defer { dir.cleanup() }
        var rng = SplitMix(seed: seed &+ 99)
        var lines = ["symbol,ts,p,v"]
        var last: [String: Int64] = [:]
        for _ in 0..<300 {
            let s = ["a", "b", "c"][Int(rng.next() % 3)]
            let t = (last[s] ?? 0) + Int64(rng.next() % 5)
            last[s] = t
            lines.append("\(s),\(t),\(Double(rng.next() % 1000) / 8),\(rng.next() % 1000)")
        }
        let bad = 1 + Int(rng.next() % 299)
        let kind = Int(seed % 3)
        var parts = lines[bad].split(separator: ",").map(String.init)
        switch kind {
        case 0: parts[2] = "x1.5"  // text in a number column
        case 1: parts.removeLast()  // a short row
        default: parts[1] = "99999999999999999999"  // a time that does not fit in 64 bits
        }
        lines[bad] = parts.joined(separator: ",")
        let csv = dir.sub("bad.csv")
        try (lines.joined(separator: "\n") + "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let expectedLine = bad + 1
        for section in [1, 29, 500, 1 << 30] {
            let db = try Database.open(dir.sub("db\(section)"))
            var options = CSVImportOptions()
            options.sectionBytes = section
            #expect {
                try CSVImporter.importFile(csv, into: "t", database: db, options: options)
            } throws: { error in
                "\(error)".contains("line \(expectedLine)")
            }
            #expect(try db.snapshot().tables.isEmpty)
            db.close()
        }
    }
}
