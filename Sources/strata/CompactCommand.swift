import ArgumentParser
import Strata

struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Merge small blocks into full ones and reclaim the space of what they replace.",
        discussion: """
            Rewrites the data files that hold runs of small blocks (left by many small commits) into \
            full blocks with freshly chosen encodings, and replaces the manifest by a checkpoint of the \
            current state. Atomic: a crash leaves the old state or the new one. Takes the writer lock \
            while it runs, so a writer in another process must be closed first (exit code 3 otherwise). \
            Prints blocks and bytes before and after; a progress bar on a terminal.
            """
    )

    @Argument(help: "The database directory.") var database: String
    @Option(name: .long, help: "Rewrite only this table's blocks (the manifest checkpoint covers all tables).")
    var table: String?

    func run() throws {
        let start = now()
        let db = try Database.open(database, options: DatabaseOptions(create: false))
        defer { db.close() }
        let bar = ProgressBar(describe: { "\($0) rows" }, minimumTotal: 1 << 20)
        let report: CompactionReport
        do {
            report = try db.compact(table: table, progress: bar.map { b in { b.update($0, $1) } })
        } catch {
            bar?.finish()
            throw error
        }
        bar?.finish()
        let seconds = now() - start
        if !report.changed {
            print("nothing to compact in \(database): \(report.blocksBefore) blocks, \(report.bytesBefore) bytes")
            return
        }
        print("compacted \(database) in \(formatSeconds(seconds)): blocks \(report.blocksBefore) -> \(report.blocksAfter), bytes \(report.bytesBefore) -> \(report.bytesAfter) (manifest \(report.manifestBytesBefore) -> \(report.manifestBytesAfter)), \(report.rowsRewritten) rows re-encoded, \(report.blocksCopied) blocks copied, data files \(report.filesRemoved) removed, \(report.filesWritten) written")
    }
}
