import ArgumentParser
import Strata

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete the rows of a time range of some or all symbols, in one commit.",
        discussion: """
            Deletes the rows with times in [--from, --to) of the given symbols (all symbols when no \
            --symbol is given); at least one of --symbol, --from and --to is required (a whole table \
            goes with strata drop). Times are integers in the table's unit or ISO-8601, as for dump. \
            Prints how many rows it deleted. Their space is reclaimed by strata compact.
            """
    )

    @Argument(help: "The database directory.") var database: String
    @Argument(help: "The table to delete from.") var table: String
    @Option(name: .customLong("symbol"), help: "A symbol to delete from (repeatable; default all).") var symbols: [String] = []
    @Option(help: "Start of the time range, inclusive (default: the first row).") var from: String?
    @Option(help: "End of the time range, exclusive (default: past the last row).") var to: String?

    func validate() throws {
        if symbols.isEmpty && from == nil && to == nil {
            throw ValidationError("delete needs --symbol, --from or --to; to delete a whole table, use strata drop DB TABLE")
        }
    }

    func run() throws {
        let db = try Database.open(database, options: DatabaseOptions(create: false))
        defer { db.close() }
        guard let schema = try db.snapshot().schema(of: table) else {
            throw StrataError(.badInput, "no table named \(table) in \(database)")
        }
        let lo = try parseTime(from, unit: schema.timeUnit) ?? .min
        let hi = try parseTime(to, unit: schema.timeUnit)
        let deleted = try db.write { tx in
            try tx.delete(from: table, symbols: symbols.isEmpty ? nil : symbols, from: lo, to: hi)
        }
        print("deleted \(deleted) rows")
    }
}

struct DropCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drop",
        abstract: "Drop a table: its rows, symbols and files, in one commit.",
        discussion: "The files are removed once no reader maps them (at the latest by the next writer to open the database)."
    )

    @Argument(help: "The database directory.") var database: String
    @Argument(help: "The table to drop.") var table: String

    func run() throws {
        let db = try Database.open(database, options: DatabaseOptions(create: false))
        defer { db.close() }
        let rows = try db.snapshot().rowCount(table)
        try db.write { tx in try tx.dropTable(table) }
        print("dropped table \(table) (\(rows) rows)")
    }
}
