import Foundation
import Testing
@testable import Strata

/// Databases written by earlier builds (`Tests/Golden/format-N`, made once by
/// `scripts/make-golden.sh`) must keep opening: each verifies clean and dumps to the CSV recorded
/// when it was written, read-only in place and read-write on a copy (where the writer's recovery
/// must find nothing to change).
@Suite(.serialized) struct GoldenTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Golden").path

    /// (database directory, table, expected dump file) for every recorded dump.
    static func cases() throws -> [(db: String, table: String, expected: String)] {
        var out: [(String, String, String)] = []
        let fm = FileManager.default
        for version in try fm.contentsOfDirectory(atPath: root).sorted() where version.hasPrefix("format-") {
            let expected = root + "/" + version + "/expected"
            for file in try fm.contentsOfDirectory(atPath: expected).sorted() where file.hasSuffix(".csv") {
                let parts = file.dropLast(4).split(separator: ".", maxSplits: 1).map(String.init)
                out.append((root + "/" + version + "/" + parts[0], parts[1], expected + "/" + file))
            }
        }
        return out
    }

    @Test func goldenDatabasesOpenVerifyAndDump() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 4, "golden files missing under \(Self.root)")
        let dir = TempDir("strata-golden")
        defer { dir.cleanup() }
        for c in cases {
            let expected = try String(contentsOfFile: c.expected, encoding: .utf8)
            // Read-only, in place: nothing may be written into the repository's files.
            let report = Database.verify(c.db)
            #expect(report.isIntact, "\(c.db): \(report.problems)")
            let db = try Database.open(c.db, options: .readOnly)
            #expect(try db.snapshot().tables.contains(c.table), "\(c.db) has no table \(c.table)")
            db.close()
            let dump = try CLI.run(["dump", c.db, c.table, "--format", "csv"])
            #expect(dump.code == 0, "\(dump.err)")
            #expect(dump.out == expected, "\(c.db) \(c.table) does not dump as recorded")

            // Read-write, on a copy: recovery changes nothing, and the database takes a new commit.
            let url = URL(fileURLWithPath: c.db)
            let copy = dir.sub(url.deletingLastPathComponent().lastPathComponent + "-" + url.lastPathComponent + "-" + c.table)
            try FileManager.default.copyItem(atPath: c.db, toPath: copy)
            let before = try Self.files(copy)
            let rw = try Database.open(copy)
            rw.close()
            #expect(try Self.files(copy).filter { $0.key != "LOCK" } == before, "\(c.db): opening read-write changed its files")
            #expect(try CLI.run(["dump", copy, c.table, "--format", "csv"]).out == expected)
        }
    }

    /// A database of an older format takes this build's first commit: the manifest's version field
    /// is raised to this build's in place, the commit's blocks are this build's, and both the old
    /// rows and the new read back, before and after reopening.
    @Test func olderDatabasesAreUpgradedByTheirFirstCommit() throws {
        let dir = TempDir("strata-golden-upgrade")
        defer { dir.cleanup() }
        var upgraded = 0
        for c in try Self.cases() {
            let version = URL(fileURLWithPath: c.db).deletingLastPathComponent().lastPathComponent
            if version == "format-\(ManifestFormat.version)" { continue }
            let copy = dir.sub(version + "-" + URL(fileURLWithPath: c.db).lastPathComponent + "-" + c.table)
            try FileManager.default.copyItem(atPath: c.db, toPath: copy)
            let expected = try String(contentsOfFile: c.expected, encoding: .utf8)
            let db = try Database.open(copy)
            try db.write { tx in
                try tx.createTable("upgrade_probe", schema: Schema(columns: [Column("v", .int64)]))
                for i in 0..<Int64(40) { try tx.append(to: "upgrade_probe", symbol: "S", time: i * 60_000, values: [.int64(i)]) }
            }
            db.close()
            let header = try Data(contentsOf: URL(fileURLWithPath: copy + "/MANIFEST"))
            let field = header[8..<12].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
            #expect(field == ManifestFormat.version, "\(copy): manifest version \(field) after a commit")
            #expect(Database.verify(copy).isIntact, "\(copy)")
            #expect(try CLI.run(["dump", copy, c.table, "--format", "csv"]).out == expected, "\(copy): old rows")
            let probe = try CLI.run(["query", copy, "SELECT count(*), sum(v), max(ts) FROM upgrade_probe", "--format", "csv"])
            #expect(probe.out.contains("40,780,2340000"), "\(copy): \(probe.out) \(probe.err)")
            upgraded += 1
        }
        #expect(upgraded >= 4, "older golden databases missing under \(Self.root)")
    }

    /// Every file of a directory and its bytes.
    static func files(_ path: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
        }
        return out
    }
}
