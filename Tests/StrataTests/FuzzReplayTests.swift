import Foundation
import Testing
@testable import Strata

/// The fuzz targets' seed corpora and every input a fuzzer ever crashed on (Tests/Fuzz/Corpus/TARGET,
/// Tests/Fuzz/Crashes/TARGET), replayed through the same entry points the fuzzer calls
/// (`FuzzTarget.run`): each must return or throw a StrataError. A trap ends this test process.
@Suite struct FuzzReplayTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func inputs(_ kind: String, _ target: FuzzTarget) -> [URL] {
        let dir = root.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().filter { !$0.hasPrefix(".") }.map { dir.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func corpusAndCrashesReplay(_ target: FuzzTarget) throws {
        let corpus = Self.inputs("Corpus", target), crashes = Self.inputs("Crashes", target)
        #expect(!corpus.isEmpty, "no seed corpus for \(target.rawValue): run Tests/Fuzz/make-corpus.py")
        var refused = 0
        for url in corpus + crashes {
            let bytes = [UInt8](try Data(contentsOf: url))
            do {
                try target.run(bytes)
            } catch {
                refused += 1
                if ProcessInfo.processInfo.environment["STRATA_FUZZ_VERBOSE"] != nil { print("\(target.rawValue) \(url.lastPathComponent): \(error)") }
            }
        }
        // The seeds are mostly valid input: most of them must go through (a parser that refuses
        // everything would pass the rest of this test).
        if [.block, .manifest, .database, .csv, .parquet, .tzif, .calendar].contains(target) {
            #expect(refused <= crashes.count + corpus.count / 3, "\(target.rawValue): \(refused) of \(corpus.count + crashes.count) refused")
        }
    }
}
