import Foundation
import Testing
@testable import Strata

/// Random damage to every kind of file: byte flips, zeroed pages, truncations. Reading and verifying
/// must never crash; verify must report damage unless the data reads back unchanged; and every read
/// either returns the original rows or throws a StrataError.
@Suite struct CorruptionTests {
    static func build(_ path: String) throws {
        let db = try Database.open(path, options: DatabaseOptions(blockRows: 50))
        for commit in 0..<3 {
            try db.write { tx in
                if commit == 0 {
                    try tx.createTable("t", schema: Schema(columns: [Column("p", .float64), Column("v", .int64)]))
                }
                for s in ["a", "b", "c"] {
                    let times = (0..<120).map { Int64(commit * 1000 + $0 * 3) }
                    try tx.append(to: "t", symbol: s, times: times,
                                  columns: [.float64(times.map { Double($0) / 1000 }), .int64(times.map { $0 * 100 })])
                }
            }
        }
        db.close()
    }

    static func readAll(_ path: String) throws -> [String] {
        let db = try Database.open(path, options: .readOnly)
        let snap = try db.snapshot()
        var out: [String] = []
        for symbol in snap.symbols(of: "t") {
            try snap.scan("t", symbol: symbol) { batch in
                for r in batch.rows { out.append("\(symbol) \(batch.times[r]) \(batch.value(0, r)) \(batch.value(1, r))") }
            }
        }
        return out
    }

    @Test(arguments: 0..<4)
    func randomDamageNeverCrashes(seed: UInt64) throws {
        let dir = TempDir("strata-corrupt")
        defer { dir.cleanup() }
        let original = dir.sub("orig")
        try Self.build(original)
        let baseline = try Self.readAll(original)
        var rng = SplitMix(seed: seed)
        let files = try FileManager.default.contentsOfDirectory(atPath: original).filter { $0 != "LOCK" }.sorted()
        for trial in 0..<40 {
            let copy = dir.sub("c\(trial)")
            try FileManager.default.copyItem(atPath: original, toPath: copy)
            let name = files[Int(rng.next() % UInt64(files.count))]
            var bytes = [UInt8](FileManager.default.contents(atPath: copy + "/" + name)!)
            let kind = rng.next() % 3
            let at = Int(rng.next() % UInt64(bytes.count))
            switch kind {
            case 0: bytes[at] ^= UInt8(1 << (rng.next() % 8))
            case 1: for i in at..<min(bytes.count, at + 4096) { bytes[i] = 0 }
            default: bytes.removeLast(bytes.count - at)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: copy + "/" + name))
            let report = Database.verify(copy)
            do {
                let rows = try Self.readAll(copy)
                if name.hasSuffix(".sdf") {
                    #expect(!report.isIntact || bytes.count > 0 && kind == 1, "trial \(trial): \(name) damaged (\(kind) at \(at)) but verify passed")
                }
                if report.isIntact && name != "MANIFEST" {
                    #expect(rows == baseline, "trial \(trial): \(name) damaged (\(kind) at \(at)) reads differently yet verifies")
                }
                if report.isIntact && name == "MANIFEST" {
                    // A manifest cut at a record boundary is an older, complete history.
                    #expect(rows.allSatisfy(Set(baseline).contains), "trial \(trial)")
                }
            } catch let error as StrataError {
                #expect(error.kind == .damaged || error.kind == .badInput, "trial \(trial): \(error)")
                #expect(!report.isIntact || name == "MANIFEST", "trial \(trial): read failed (\(error)) but verify passed")
            }
            if kind == 0 && name.hasSuffix(".sdf") && at < DataFileFormat.headerBytes {
                #expect(!report.isIntact, "trial \(trial): data file header damage not reported")
            }
        }
    }
}
