import Foundation
import Testing

/// Strata's Parquet against the readers and writers users have: `Tests/Interop/parquet_interop.py`
/// (pyarrow, DuckDB, Polars from PyPI, in a virtual environment under `.build/interop-venv` that this
/// test creates). Where the packages cannot be installed (no network, no python3 -m venv) the test
/// says so and checks nothing else; the rest of the suite never needs them.
@Suite(.serialized) struct ParquetInteropTests {
    static let packages = ["pyarrow==26.0.1", "duckdb==2.0.0", "polars==2.1.0"]
    /// Installed when it can be: without it the chDB questions are skipped.
    static let optional = "chdb==4.4.0"

    static var root: String { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path }

    /// The venv's python, installed on first use; nil (with the reason) where that cannot be done.
    static func python() -> (String?, String) {
        let venv = root + "/.build/interop-venv"
        let python = venv + "/bin/python"
        let ready = venv + "/.strata-ready-" + packages.joined(separator: "_")
        if FileManager.default.fileExists(atPath: ready) { return (python, "") }
        let steps = [["python3", "-m", "venv", venv], [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + packages]
        for step in steps {
            let r = run(["/usr/bin/env"] + step)
            if r.code != 0 { return (nil, "\(step.prefix(3).joined(separator: " ")) failed: \(r.err.suffix(300))") }
        }
        _ = run(["/usr/bin/env", python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", optional])
        FileManager.default.createFile(atPath: ready, contents: Data())
        return (python, "")
    }

    static func run(_ args: [String]) -> (code: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: args[0])
        p.currentDirectoryURL = CLI.workingDirectory
        p.arguments = Array(args.dropFirst())
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return (127, "", "\(error)") }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test func pyarrowDuckDBAndPolarsReadAndWriteWhatStrataDoes() throws {
        let (python, why) = Self.python()
        guard let python else {
            print("ParquetInteropTests skipped: pyarrow, DuckDB and Polars could not be installed (\(why))")
            return
        }
        let dir = TempDir("strata-interop")
        defer { dir.cleanup() }
        let r = Self.run([python, Self.root + "/Tests/Interop/parquet_interop.py", CLI.binary, dir.sub("work")])
        print(r.out)
        #expect(r.code == 0, "\(r.out)\n\(r.err)")
        #expect(r.out.components(separatedBy: "\nok ").count >= 11, "\(r.out)")
    }

    /// Q1-Q10 of the reference workload asked of DuckDB and chDB over Strata's hive export give
    /// Strata's own answers.
    @Test func duckDBAndChDBAnswerTheTenQuestionsOverTheExport() throws {
        let (python, why) = Self.python()
        guard let python else {
            print("ParquetInteropTests skipped: DuckDB and chDB could not be installed (\(why))")
            return
        }
        let dir = TempDir("strata-questions")
        defer { dir.cleanup() }
        let r = Self.run([python, Self.root + "/Tests/Interop/parquet_questions.py", CLI.binary, dir.sub("work")])
        print(r.out)
        #expect(r.code == 0, "\(r.out)\n\(r.err)")
        #expect(r.out.contains("ok   DuckDB q10"), "\(r.out)")
    }
}
