import ArgumentParser
import Strata

struct ShellCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "An interactive prompt for queries (or a script of them from a pipe).",
        discussion: """
            Statements end with ';' and may span lines. On a terminal, lines are edited in place \
            (arrows, Home/End, Ctrl-A/E/K/U/W, Ctrl-C to drop the statement, Ctrl-D on an empty line \
            to quit) with a history kept in ~/.strata_history. From a pipe (strata shell db < script.sql) \
            statements are read and run in turn; the exit code is 1 if any failed.

            Commands: .tables, .schema [TABLE], .timer on|off, .mode table|csv|jsonl, .help, .quit
            """
    )

    @Argument(help: "The database directory.") var database: String
    @Option(help: "Output format: table, csv or jsonl (default: table on a terminal, else csv).") var format: QueryCommand.Format?

    func run() throws {
        let db = try Database.open(database, options: .readOnly)
        let interactive = System.isTerminal(0)
        var shell = Shell(db: db, format: format ?? (System.isTerminal(1) ? .table : .csv), interactive: interactive)
        if interactive, let editor = LineEditor() {
            try shell.interact(editor)
        } else {
            var input = InputLines()
            while let line = input.next() {
                if !shell.take(line) { break }
            }
            shell.endOfInput()
        }
        if shell.failed && !interactive { throw ExitFailure(code: 1) }
    }
}

/// Statements and dot-commands, line by line, whoever types them.
struct Shell {
    let db: Database
    var format: QueryCommand.Format
    let interactive: Bool
    var timer = false
    var pending: [String] = []
    var failed = false
    let out = FileWriter.standardOutput()

    init(db: Database, format: QueryCommand.Format, interactive: Bool) {
        self.db = db
        self.format = format
        self.interactive = interactive
    }

    var prompt: String { pending.isEmpty ? "strata> " : "   ...> " }

    /// Runs the editor's lines until .quit or the end of input.
    mutating func interact(_ editor: LineEditor) throws {
        out.write("Strata shell: statements end with ';', .help for commands, .quit to leave.\n")
        out.flush()
        var editor = editor
        defer { editor.close() }
        var statement: [String] = []
        while true {
            switch editor.readLine(prompt: prompt) {
            case .line(let text):
                statement.append(text)
                if !take(text) { return }
                if pending.isEmpty {
                    // A whole statement (or a command) is one history entry, its lines joined.
                    let whole = statement.map(\.trimmingSpaces).filter { !$0.isEmpty }.joined(separator: " ")
                    if !whole.isEmpty { editor.remember(whole) }
                    statement = []
                }
            case .cancelled:
                pending = []
                statement = []
            case .end:
                return
            }
        }
    }

    /// One line of input; false after `.quit`.
    mutating func take(_ line: String) -> Bool {
        let trimmed = line.trimmingSpaces
        if pending.isEmpty && trimmed.hasPrefix(".") { return command(trimmed) }
        if pending.isEmpty && trimmed.isEmpty { return true }
        pending.append(line)
        let text = pending.joined(separator: "\n")
        let (statements, rest) = Self.split(text)
        for statement in statements { run(statement) }
        pending = rest.map { $0.trimmingSpaces.isEmpty ? [] : [$0] } ?? []
        return true
    }

    mutating func endOfInput() {
        let rest = pending.joined(separator: "\n")
        if !rest.trimmingSpaces.isEmpty { run(rest) }  // a last statement without ';'
        pending = []
        out.flush()
    }

    /// The statements ended by ';' (outside quotes and comments) in `text`, and what follows the
    /// last ';' (nil when nothing does).
    private static func split(_ text: String) -> (statements: [String], rest: String?) {
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var quote: Unicode.Scalar? = nil
        var comment = false
        var previous: Unicode.Scalar = " "
        for u in text.unicodeScalars {
            if comment {
                if u == "\n" { comment = false }
            } else if let q = quote {
                if u == q { quote = nil }
            } else if u == "'" || u == "\"" {
                quote = u
            } else if u == "-" && previous == "-" {
                comment = true
            } else if u == ";" {
                statements.append(String(current))
                current = String.UnicodeScalarView()
                previous = " "
                continue
            }
            current.append(u)
            previous = u
        }
        let rest = String(current)
        return (statements.filter { !$0.trimmingSpaces.isEmpty }, rest.isEmpty ? nil : rest)
    }

    mutating func run(_ sql: String) {
        let start = now()
        do {
            let snap = try db.snapshot()
            var printer = ResultPrinter(format: format, out: out)
            try snap.query(try SQLParser.parse(sql), batchRows: format == .table ? 100_000 : 8_192) { (batch) throws(StrataError) in
                printer.print(batch)
            }
            printer.finish()
            if timer { out.write("time: \(formatMilliseconds((now() - start) * 1000)) ms\n") }
        } catch {
            failed = true
            out.flush()
            FileWriter.stderr.write("error: \(error.message)\n")
        }
        out.flush()
    }

    /// A dot-command; false for .quit.
    mutating func command(_ line: String) -> Bool {
        let words = line.split(separator: " ").map(String.init)
        switch (words[0], words.count) {
        case (".quit", 1), (".exit", 1): return false
        case (".help", 1):
            out.write("""
                Statements end with ';' and may span lines (SELECT ..., EXPLAIN SELECT ...).
                .tables                 the tables
                .schema [TABLE]         the columns of one table, or of all
                .timer on|off           print each statement's time
                .mode table|csv|jsonl   the output format
                .quit                   leave (also Ctrl-D on an empty line)

                """)
        case (".tables", 1):
            if let snap = try? db.snapshot() { for t in snap.tables { out.write(t + "\n") } }
        case (".schema", _) where words.count <= 2:
            schema(words.count == 2 ? words[1] : nil)
        case (".timer", 2) where words[1] == "on" || words[1] == "off":
            timer = words[1] == "on"
        case (".mode", 2):
            guard let f = QueryCommand.Format(rawValue: words[1]) else { return complain("unknown mode \(words[1]): table, csv or jsonl") }
            format = f
        default:
            return complain("unknown or malformed command \(line) (.help lists them)")
        }
        out.flush()
        return true
    }

    private mutating func complain(_ message: String) -> Bool {
        failed = true
        out.flush()
        FileWriter.stderr.write("error: \(message)\n")
        return true
    }

    private mutating func schema(_ table: String?) {
        guard let snap = try? db.snapshot() else { return }
        let names = table.map { [$0] } ?? snap.tables
        for name in names {
            guard let s = snap.schema(of: name) else {
                _ = complain("no table named \(name) (tables: \(snap.tables.joined(separator: ", ")))")
                return
            }
            out.write("table \(name): symbol \(s.symbolColumn), time \(s.timeColumn) (\(s.timeUnit))\(s.dedup ? ", dedup" : "")\n")
            for c in s.columns { out.write("  \(c.name) \(c.type)\n") }
        }
    }
}

/// Lines of standard input when it is not a terminal.
struct InputLines {
    private var buffer = [UInt8](repeating: 0, count: 65_536)
    private var pending: [UInt8] = []
    private var start = 0
    private var ended = false

    mutating func next() -> String? {
        while true {
            if let nl = pending[start...].firstIndex(of: 10) {
                let line = String(decoding: pending[start..<nl], as: UTF8.self)
                start = nl + 1
                return line.hasSuffix("\r") ? String(line.dropLast()) : line
            }
            if ended {
                if start < pending.count {
                    let line = String(decoding: pending[start...], as: UTF8.self)
                    start = pending.count
                    return line
                }
                return nil
            }
            pending.removeFirst(start)
            start = 0
            guard let n = System.read(0, into: &buffer), n > 0 else {
                ended = true
                continue
            }
            pending.append(contentsOf: buffer[0..<n])
        }
    }
}
