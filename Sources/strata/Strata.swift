import ArgumentParser
import Strata


/// `strata`: the command-line face of the Strata storage engine.
///
/// Exit codes (a contract): 0 success, 1 bad input or usage, 2 damaged database, 3 locked.
@main
struct StrataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "An embedded columnar time-series store for market data.",
        subcommands: [ImportCommand.self, DumpCommand.self, QueryCommand.self, ShellCommand.self, InfoCommand.self, VerifyCommand.self, CompactCommand.self, DeleteCommand.self, DropCommand.self, AlterCommand.self, ExportCommand.self, WatchCommand.self, GenerateCommand.self, BenchCommand.self]
    )

    static func main() {
        System.keepFreedMemory()
        System.startQueryThreads()
        do {
            let args = Array(CommandLine.arguments.dropFirst())
            if args.first == "query", let q = QueryCommand.plainArguments(Array(args.dropFirst())) {
                try QueryCommand.run(database: q.database, sql: q.sql, format: q.format, timing: q.timing, repetitions: q.repetitions)
                return
            }
            var command = try parseAsRoot()
            try command.run()
        } catch let error as StrataError {
            fail(error.message, code: exitCode(error.kind))
        } catch let error as ExitFailure {
            System.exit(error.code)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                System.exit(0)
            }
            var message = fullMessage(for: error)
            if message.hasPrefix("Error: ") { message.removeFirst(7) }
            FileWriter.stderr.write("error: " + message + (message.hasSuffix("\n") ? "" : "\n"))
            System.exit(1)
        }
    }

    static func exitCode(_ kind: StrataError.Kind) -> Int32 {
        switch kind {
        case .badInput, .io, .misuse: 1
        case .damaged: 2
        case .locked: 3
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileWriter.stderr.write("error: \(message)\n")
        System.exit(code)
    }
}

/// Thrown by a command that has already printed what went wrong.
struct ExitFailure: Error {
    let code: Int32
}

/// Options shared by commands that read a time range of a table.
/// A read-only snapshot of `database` and the schema of `table`, which must exist (the error lists
/// the tables there are).
func readTable(_ database: String, _ table: String) throws -> (Snapshot, Schema) {
    let db = try Database.open(database, options: .readOnly)
    let snap = try db.snapshot()
    guard let schema = snap.schema(of: table) else {
        let known = snap.tables.isEmpty ? "the database has no tables" : "tables: " + snap.tables.joined(separator: ", ")
        throw StrataError(.badInput, "no table named \(table) in \(database) (\(known))")
    }
    return (snap, schema)
}

func parseTime(_ text: String?, unit: TimeUnit) throws(StrataError) -> Int64? {
    guard let text else { return nil }
    return try TimeParser.parse(text, unit: unit)
}
