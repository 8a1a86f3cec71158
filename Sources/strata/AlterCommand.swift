import ArgumentParser
import Strata

struct AlterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alter",
        abstract: "Add, drop or rename a column of a table, in one commit that rewrites no data.",
        discussion: """
            Give exactly one change. --add-column NAME:TYPE adds a column (TYPE int64, float64 or \
            string) after the table's other columns; rows written before read it as null. \
            --drop-column NAME drops a value column (not the symbol or time column); its bytes are \
            reclaimed by strata compact. --rename-column OLD:NEW renames any column, the symbol and \
            time columns included (split at the first ':'). Blocks name their columns by id, so no \
            block is rewritten.
            """
    )

    @Argument(help: "The database directory.") var database: String
    @Argument(help: "The table to change.") var table: String
    @Option(name: .customLong("add-column"), help: "NAME:TYPE of a column to add.") var addColumn: String?
    @Option(name: .customLong("drop-column"), help: "NAME of a column to drop.") var dropColumn: String?
    @Option(name: .customLong("rename-column"), help: "OLD:NEW names of a column to rename.") var renameColumn: String?

    func validate() throws {
        let given = [addColumn, dropColumn, renameColumn].compactMap { $0 }.count
        if given != 1 {
            throw ValidationError("alter takes exactly one of --add-column NAME:TYPE, --drop-column NAME, --rename-column OLD:NEW (\(given) given)")
        }
        if let addColumn {
            guard let colon = addColumn.lastIndex(of: ":") else {
                throw ValidationError("--add-column takes NAME:TYPE (TYPE int64, float64 or string), not '\(addColumn)'")
            }
            let type = String(addColumn[addColumn.index(after: colon)...])
            if ColumnType(name: type) == nil {
                throw ValidationError("--add-column \(addColumn): '\(type)' is not a type (int64, float64 or string)")
            }
        }
        if let renameColumn, !renameColumn.contains(":") {
            throw ValidationError("--rename-column takes OLD:NEW, not '\(renameColumn)'")
        }
    }

    func run() throws {
        let db = try Database.open(database, options: DatabaseOptions(create: false))
        defer { db.close() }
        if let addColumn {
            let colon = addColumn.lastIndex(of: ":")!
            let name = String(addColumn[..<colon])
            let type = ColumnType(name: String(addColumn[addColumn.index(after: colon)...]))!
            try db.write { tx in try tx.addColumn(name, type, to: table) }
            print("added column \(name) (\(type)) to \(table)")
        } else if let dropColumn {
            try db.write { tx in try tx.dropColumn(dropColumn, from: table) }
            print("dropped column \(dropColumn) from \(table)")
        } else if let renameColumn {
            let colon = renameColumn.firstIndex(of: ":")!
            let old = String(renameColumn[..<colon]), new = String(renameColumn[renameColumn.index(after: colon)...])
            try db.write { tx in try tx.renameColumn(old, to: new, in: table) }
            print("renamed column \(old) of \(table) to \(new)")
        }
    }
}
