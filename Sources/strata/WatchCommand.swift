import ArgumentParser
import Dispatch
import Strata

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print each commit of a database as it happens, one JSON line each.",
        discussion: """
            Opens the database read-only (it may be written by another process meanwhile) and prints \
            {"sequence":N,"tables":[...]} for every commit after it started, in order, none skipped, \
            learnt from the file system's change notifications. Stops after --count commits, after \
            --timeout seconds, or when interrupted. Says on stderr which commit it watches after.
            """
    )

    @Argument(help: "The database directory.") var database: String
    @Option(help: "Stop after this many commits.") var count: Int?
    @Option(help: "Stop after this many seconds.") var timeout: Double?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        let db = try Database.open(database, options: .readOnly)
        let feed = db.commits()
        FileWriter.stderr.write("watching \(database) after commit \(try db.snapshot().sequence)\n")
        let done = DispatchSemaphore(value: 0)
        let limit = count
        Task {
            var seen = 0
            let out = FileWriter.standardOutput()
            do {
                for try await commit in feed {
                    out.write("{\"sequence\":\(commit.sequence),\"tables\":[\(commit.tables.map(jsonString).joined(separator: ","))]}")
                    out.endRecord()
                    out.flush()
                    seen += 1
                    if let limit, seen >= limit { break }
                }
            } catch {
                FileWriter.stderr.write("error: \(database): \(error)\n")
            }
            done.signal()
        }
        _ = done.wait(timeout: timeout.map { .now() + $0 } ?? .distantFuture)
        db.close()
    }
}
