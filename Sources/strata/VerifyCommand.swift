import ArgumentParser
import Strata


struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Read and check everything; exit 0 only when the database is intact (2 when damaged).",
        discussion: "Checks the manifest, every data file, every block's checksums, decodes every column and recomputes its statistics. Each problem is printed with its file, table, symbol and block."
    )

    @Argument(help: "The database directory.") var database: String

    func run() throws {
        let start = now()
        // A path that is not a database is a usage error (1), not damage (2).
        if !LocalFiles.exists(database) { StrataCommand.fail("\(database) does not exist", code: 1) }
        if !LocalFiles.exists(database + "/MANIFEST") {
            StrataCommand.fail("\(database) is not a Strata database (no MANIFEST)", code: 1)
        }
        let report = Database.verify(database)
        for note in report.notes { print("note: \(note)") }
        for problem in report.problems { print("problem: \(problem)") }
        if report.isIntact {
            print("ok: \(database): \(report.tables) tables, \(report.blocks) blocks, \(report.rows) rows verified in \(formatSeconds(now() - start))")
            return
        }
        StrataCommand.fail("database \(database) is damaged: \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s") found", code: 2)
    }
}
