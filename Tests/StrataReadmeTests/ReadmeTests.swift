import Foundation
import Testing
import Strata  // not @testable: only the public API a user reads in README.md

/// The Swift examples of README.md, compiled and run as written. `readmeBlocksAreThisFile` fails
/// when README.md and the copies between the `README` markers below drift apart.
@Suite(.serialized) struct ReadmeTests {
    /// Runs `body` in a fresh temporary directory (the examples use relative paths).
    static func inTemporaryDirectory(_ body: () throws -> Void) throws {
        let fm = FileManager.default
        let dir = NSTemporaryDirectory() + "strata-readme-\(UUID().uuidString)"
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let previous = fm.currentDirectoryPath
        #expect(fm.changeCurrentDirectoryPath(dir))
        defer {
            _ = fm.changeCurrentDirectoryPath(previous)
            try? fm.removeItem(atPath: dir)
        }
        try body()
    }

    @Test func readmeExamplesRun() throws {
        try Self.inTemporaryDirectory {
            // README: From Swift
            let db = try Database.open("prices.db")                    // creates it when missing; takes the writer lock
            try db.write { tx in                                        // commits on return, keeps nothing if it throws
                try tx.createTable("bars", schema: Schema(columns: [Column("close", .float64), Column("volume", .int64)]))
                try tx.append(to: "bars", symbol: "159363", times: [1_755_653_400_000, 1_755_653_460_000],
                              columns: [.float64([0.981, 0.982]), .int64([120_000, 98_300])])
                try tx.append(to: "bars", symbol: "588730", time: 1_755_653_400_000, values: [.float64(1.502), .int64(3_100)])
            }
            let snapshot = try db.snapshot()                            // one consistent view, readable while the writer goes on
            try snapshot.scan("bars", symbol: "159363", from: 1_755_653_400_000, to: 1_755_676_800_000, columns: ["close"]) { batch in
                for close in try batch.float64(0) { print(close) }     // column batches, decoded from the mapped file
            }
            db.close()
            // END README

            // README: Queries
            let q = Query([SelectItem(.sum(.col("volume")), as: "volume"), SelectItem(.vwap(.col("close"), .col("volume")))],
                          from: "bars", where: [.symbol("159363")] + Condition.timeRange(1_755_653_400_000, 1_755_676_800_000))
            let r = try snapshot.query(q)                               // QueryResult: typed columns ([Int64?], [Double?], [String?])
            // END README

            #expect(r.rowCount == 1)
            #expect(r[0, 0] == .int(218_300))
            let vwap = (0.981 * 120_000 + 0.982 * 98_300) / 218_300
            if case .float(let v) = r[0, 1] { #expect(abs(v - vwap) < 1e-12) } else { Issue.record("vwap is \(r[0, 1])") }
            #expect(snapshot.rowCount("bars") == 3)
            #expect(Database.verify("prices.db").isIntact)

            // README: Nulls, text and changing columns
            let trades = try Database.open("trades.db")
            try trades.write { tx in
                try tx.createTable("trades", schema: Schema(columns: [Column("price", .float64), Column("side", .string)]))
                try tx.append(to: "trades", symbol: "159363", times: [1_000, 2_000],
                              columns: [.optionalFloat64([1.5, nil]), .string(["B", nil])])
                try tx.addColumn("venue", .string, to: "trades")       // rows above read it as null
                try tx.append(to: "trades", symbol: "159363", time: 3_000, values: [.float64(1.6), .string("S"), .string("SZSE")])
                try tx.renameColumn("side", to: "direction", in: "trades")
            }
            let priced = try trades.snapshot().query("SELECT count(price), count(*) FROM trades WHERE venue IS NULL")
            print(priced.rows)                                          // [[1, 2]]
            trades.close()
            // END README

            #expect(priced.rows == [[.int(1), .int(2)]])
            #expect(Database.verify("trades.db").isIntact)
        }
    }

    @Test func readmeAsyncExampleRuns() async throws {
        let fm = FileManager.default
        let dir = NSTemporaryDirectory() + "strata-readme-async-\(UUID().uuidString)"
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: dir) }
        let previous = fm.currentDirectoryPath
        #expect(fm.changeCurrentDirectoryPath(dir))
        defer { _ = fm.changeCurrentDirectoryPath(previous) }
        var seen: [Commit] = []

        // README: Async, live feeds and your own types
        struct Bar: Decodable { let symbol: String; let ts: Date; let close: Double; let volume: Int64 }

        let live = try Database.open("live.db")
        let feed = live.commits()                                   // every commit from here on
        try await live.write { tx in                                // runs off the caller's executor
            try tx.createTable("bars", schema: Schema(columns: [Column("close", .float64), Column("volume", .int64)]))
            try tx.append(to: "bars", symbol: "159363", time: 1_755_653_400_000, values: [.float64(0.981), .int64(120_000)])
        }
        let bars = try await live.read { snap in
            try snap.query("SELECT symbol, ts, close, volume FROM bars", as: Bar.self)   // ts: a Date (or Int64 in the table's unit)
        }
        live.close()                                                // ends the feed
        for try await commit in feed { print(commit.sequence, commit.tables) }        // 1 ["bars"]
        // END README

        for try await commit in live.commits() { seen.append(commit) }  // a closed database's feed ends at once
        #expect(seen.isEmpty)
        #expect(bars.count == 1 && bars[0].ts == Date(timeIntervalSince1970: 1_755_653_400) && bars[0].volume == 120_000)
    }

    /// The ```swift blocks of README.md, without `import` lines and common indentation.
    static func readmeBlocks() throws -> [String] {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```swift" { current = []; continue }
            if current != nil, line == "```" { blocks.append(normalized(current!)); current = nil; continue }
            current?.append(line)
        }
        return blocks
    }

    /// The code between `// README: ...` and `// END README` in this file.
    static func copiesInThisFile() throws -> [String] {
        let text = try String(contentsOfFile: #filePath, encoding: .utf8)
        var copies: [String] = []
        var current: [Substring]? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("// README: ") { current = []; continue }
            if trimmed == "// END README" { copies.append(normalized(current!)); current = nil; continue }
            current?.append(line)
        }
        return copies
    }

    static func normalized(_ lines: [Substring]) -> String {
        let code = lines.filter { !$0.hasPrefix("import ") }
            .drop { $0.allSatisfy(\.isWhitespace) }.reversed().drop { $0.allSatisfy(\.isWhitespace) }.reversed()
        let indent = code.filter { !$0.allSatisfy(\.isWhitespace) }.map { $0.prefix { $0 == " " }.count }.min() ?? 0
        return code.map { String($0.dropFirst(min(indent, $0.count))) }.joined(separator: "\n")
    }

    @Test func readmeBlocksAreThisFile() throws {
        let blocks = try Self.readmeBlocks()
        let copies = try Self.copiesInThisFile()
        #expect(blocks.count == 4, "README.md has \(blocks.count) swift blocks; copy each new one into ReadmeTests")
        for block in blocks {
            #expect(copies.contains(block), "README.md block not compiled by ReadmeTests:\n\(block)")
        }
    }
}
