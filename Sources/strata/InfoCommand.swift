import ArgumentParser
import Strata

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show tables, schemas, symbols, rows, blocks, bytes on disk and bytes per row by column."
    )

    @Argument(help: "The database directory.") var database: String
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let db = try Database.open(database, options: .readOnly)
        let snap = try db.snapshot()
        let infos = try snap.tables.map { try snap.info($0) }
        let total = Database.bytesOnDisk(database)
        if json { printJSON(infos, total: total, sequence: snap.sequence) } else { printText(infos, total: total, sequence: snap.sequence) }
    }

    private func perRow(_ bytes: Int, _ rows: Int) -> String {
        rows == 0 ? "-" : String(format2(Double(bytes) / Double(rows)))
    }

    private func format2(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        var s = "\(r)"
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if decimals < 2 { s += String(repeating: "0", count: 2 - decimals) }
        }
        return s
    }

    private func printText(_ infos: [TableInfo], total: Int, sequence: UInt64) {
        print("\(database): \(infos.count) table\(infos.count == 1 ? "" : "s"), \(total) bytes on disk, \(sequence) commits")
        for t in infos {
            print("")
            print("table \(t.name): \(t.rows) rows, \(t.symbols.count) symbols, \(t.blocks) blocks, \(t.files) data file\(t.files == 1 ? "" : "s"), \(t.bytes) bytes (\(perRow(t.bytes, t.rows)) bytes/row): \(t.liveBytes) live, \(t.deadBytes) dead (reclaimed by compact)")
            let key = t.schema.dedup ? "one row per (symbol, time): writes replace rows with the same key (dedup)" : "rows with equal keys are all kept"
            print("  key: \(t.schema.symbolColumn) (symbol), \(t.schema.timeColumn) (time, \(t.schema.timeUnit)); \(key)")
            let rows = [["column", "type", "bytes", "bytes/row", "encodings"]]
                + t.columns.map { c in
                    [c.name, c.type, String(c.bytes), perRow(c.bytes, t.rows),
                     c.encodings.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")]
                }
                + [["(block headers)", "", String(t.headerBytes), perRow(t.headerBytes, t.rows), ""]]
                + (t.droppedColumnBytes > 0 ? [["(dropped columns)", "", String(t.droppedColumnBytes), perRow(t.droppedColumnBytes, t.rows), "reclaimed by compact"]] : [])
            let widths = (0..<5).map { k in rows.map { $0[k].count }.max()! }
            for r in rows {
                let cells = (0..<5).map { k in k == 2 || k == 3 ? String(repeating: " ", count: widths[k] - r[k].count) + r[k] : r[k] + String(repeating: " ", count: widths[k] - r[k].count) }
                print("  " + cells.joined(separator: "  "))
            }
            let shown = t.symbols.prefix(20).map { "\($0.name) (\($0.rows) rows, \($0.blocks) block\($0.blocks == 1 ? "" : "s"))" }
            let more = t.symbols.count > 20 ? ", … \(t.symbols.count - 20) more (see --json)" : ""
            print("  symbols: " + shown.joined(separator: ", ") + more)
        }
    }

    private func printJSON(_ infos: [TableInfo], total: Int, sequence: UInt64) {
        func num(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
        var out = "{\"database\":\(jsonString(database)),\"bytes_on_disk\":\(total),\"commits\":\(sequence),\"tables\":["
        for (i, t) in infos.enumerated() {
            if i > 0 { out += "," }
            out += "{\"name\":\(jsonString(t.name)),\"symbol_column\":\(jsonString(t.schema.symbolColumn)),"
            out += "\"time_column\":\(jsonString(t.schema.timeColumn)),\"time_unit\":\"\(t.schema.timeUnit)\","
            out += "\"dedup\":\(t.schema.dedup),\"key\":\(t.schema.dedup ? "[\(jsonString(t.schema.symbolColumn)),\(jsonString(t.schema.timeColumn))]" : "null"),"
            out += "\"header\":[\(t.schema.headerNames.map(jsonString).joined(separator: ","))],"
            out += "\"rows\":\(t.rows),\"blocks\":\(t.blocks),\"files\":\(t.files),\"bytes\":\(t.bytes),"
            out += "\"live_bytes\":\(t.liveBytes),\"dead_bytes\":\(t.deadBytes),"
            out += "\"bytes_per_row\":\(t.rows == 0 ? "null" : num(Double(t.bytes) / Double(t.rows))),"
            out += "\"header_bytes\":\(t.headerBytes),\"columns\":["
            out += t.columns.map { c in
                let enc = c.encodings.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\($0.value)" }.joined(separator: ",")
                return "{\"name\":\(jsonString(c.name)),\"type\":\"\(c.type)\",\"bytes\":\(c.bytes),\"bytes_per_row\":\(t.rows == 0 ? "null" : num(Double(c.bytes) / Double(t.rows))),\"encodings\":{\(enc)}}"
            }.joined(separator: ",")
            out += "],\"symbol_count\":\(t.symbols.count),\"symbols\":["
            out += t.symbols.map { s in
                "{\"symbol\":\(jsonString(s.name)),\"rows\":\(s.rows),\"blocks\":\(s.blocks),\"first_ts\":\(s.firstTime.map(String.init) ?? "null"),\"last_ts\":\(s.lastTime.map(String.init) ?? "null")}"
            }.joined(separator: ",")
            out += "]}"
        }
        out += "]}"
        print(out)
    }
}
