import ArgumentParser
import Strata

struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Write a table's rows as CSV or JSON lines, ordered by symbol, then time.",
        discussion: """
            --from is inclusive and --to exclusive; both take an integer in the table's unit or an \
            ISO-8601 date or time (2025-08-20, 2025-08-20T09:30:00+08:00; UTC without an offset). \
            Every value comes back exactly: float64 as the shortest text that parses to the same bits. \
            A null is an empty field in CSV and null in JSON lines; an empty text value is written \
            "" in CSV. In JSON lines, NaN and infinities are written as null too.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv, jsonl
    }

    @Argument(help: "The database directory.") var database: String
    @Argument(help: "The table to dump.") var table: String
    @Option(name: .customLong("symbol"), help: "A symbol to dump (repeatable; default all).") var symbols: [String] = []
    @Option(help: "Start of the time range, inclusive.") var from: String?
    @Option(help: "End of the time range, exclusive.") var to: String?
    @Option(help: "Output format: csv or jsonl.") var format: Format = .csv

    func run() throws {
        let (snap, schema) = try readTable(database, table)
        let lo = try parseTime(from, unit: schema.timeUnit) ?? .min
        let hi = try parseTime(to, unit: schema.timeUnit)  // nil: to the end, Int64.max included
        let out = FileWriter.standardOutput()
        _ = try Self.writeRows(snap, table: table, schema: schema, symbols: symbols, from: lo, to: hi, format: format, to: out)
        out.flush()
    }

    /// The rows of `symbols` (all when empty) in [from, to) as CSV with a header, or JSON lines.
    static func writeRows(
        _ snap: Snapshot, table: String, schema: Schema, symbols: [String], from lo: Int64, to hi: Int64?, format: Format,
        to out: FileWriter
    ) throws -> Int {
        let chosen = symbols.isEmpty
            ? snap.symbols(of: table)
            : Set(symbols.map(ByteString.init)).sorted().map(\.string)
        let layout = schema.headerLayout
        let names = schema.headerNames
        if format == .csv {
            out.write(names.map(csvField).joined(separator: ","))
            out.endRecord()
        }
        let keys = names.map { jsonString($0) + ":" }
        var rows = 0
        var hints = [Int](repeating: 0, count: layout.count)
        for symbol in chosen {
            let symbolText = format == .csv ? csvField(symbol) : jsonString(symbol)
            try snap.scan(table, symbol: symbol, from: lo, to: hi) { batch in
                rows += batch.count
                let times = try batch.times
                for r in batch.rows {
                    if format == .jsonl { out.byte(UInt8(ascii: "{")) }
                    for (k, slot) in layout.enumerated() {
                        if k > 0 { out.byte(UInt8(ascii: ",")) }
                        if format == .jsonl { out.write(keys[k]) }
                        switch slot {
                        case .symbol: out.write(symbolText)
                        case .time: out.int(times[r])
                        case .value(let c):
                            switch try batch.value(c, r) {
                            case .int64(let v): out.int(v)
                            case .float64(let d): out.double(d, json: format == .jsonl, scaleHint: &hints[k])
                            case .string(let text): out.write(format == .csv ? csvText(text) : jsonString(text))
                            case .null: if format == .jsonl { out.write("null") }
                            }
                        }
                    }
                    if format == .jsonl { out.byte(UInt8(ascii: "}")) }
                    out.endRecord()
                }
            }
        }
        return rows
    }
}
