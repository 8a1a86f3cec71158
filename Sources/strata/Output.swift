import Strata


/// Buffered text output to standard output or standard error, through Strata's `OutputFile`.
/// A failed write (a closed pipe, a full disk) ends the process with exit code 1.
final class FileWriter {
    private let file: OutputFile

    nonisolated(unsafe) static let stderr = FileWriter(OutputFile.standardError())

    private init(_ file: OutputFile) { self.file = file }

    static func standardOutput() -> FileWriter { FileWriter(OutputFile.standardOutput()) }

    /// A new (or emptied) file at `path`.
    static func creating(_ path: String) throws(StrataError) -> FileWriter { FileWriter(try OutputFile(creating: path)) }

    /// Bytes written so far.
    var position: UInt64 { file.position }

    /// Writes what is buffered and closes the file.
    func finish() throws(StrataError) { try file.finish() }

    func write(_ s: String) {
        file.append(s)
        flushIfFull()
    }

    func byte(_ b: UInt8) { file.append(b) }

    func int(_ v: Int64) { file.append(decimal: v) }

    /// The shortest text that parses back to the same bits (`0.30000000000000004`, `-0.0`, `5e-324`),
    /// trying `scaleHint` decimal places first: one hint a column (see `OutputFile`).
    func double(_ d: Double, json: Bool = false, scaleHint: inout Int) {
        if json && !d.isFinite { file.append("null") } else { file.append(shortest: d, scaleHint: &scaleHint) }
    }

    /// The rows of `r` as CSV records (`OutputFile.appendDelimited`; a text quoted by `csvText`),
    /// a few hundred at a time between looks at the buffer, which is written at 64 KB.
    func csvRows(_ r: QueryResult, hints: inout [Int]) {
        for start in stride(from: 0, to: r.rowCount, by: 256) {
            file.appendDelimited(r, rows: start..<min(start + 256, r.rowCount), separator: UInt8(ascii: ","), hints: &hints, text: csvText)
            flushIfFull()
        }
    }

    func endRecord() {
        file.append(UInt8(ascii: "\n"))
        flushIfFull()
    }

    private func flushIfFull() {
        do { try file.flushIfFull() } catch { Self.writeFailed(error) }
    }

    func flush() {
        do { try file.flush() } catch { Self.writeFailed(error) }
    }

    private static func writeFailed(_ error: StrataError) -> Never {
        if error.message.contains("standard error") { System.exit(1) }
        StrataCommand.fail(error.message, code: 1)
    }
}

/// A CSV field, quoted when it holds a comma, a quote, or a line break.
func csvField(_ s: String) -> String {
    if !s.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }) {
        return s
    }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// A text value as a CSV field: quoted as `csvField` quotes, and the empty string as `""` (an
/// empty field is a null).
func csvText(_ s: String) -> String {
    s.isEmpty ? "\"\"" : csvField(s)
}

/// A JSON string literal.
func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        var out = ""
        var rest = self[...]
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Index>? {
        guard !target.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<index(i, offsetBy: target.count) }
            i = index(after: i)
        }
        return nil
    }
}

func formatSeconds(_ s: Double) -> String {
    let t = (s * 100).rounded() / 100
    return "\(t) s"
}

func formatRate(_ perSecond: Double) -> String {
    if perSecond >= 1e6 { return "\((perSecond / 1e4).rounded() / 100)M" }
    if perSecond >= 1e3 { return "\((perSecond / 10).rounded() / 100)k" }
    return "\(Int(perSecond))"
}

/// Monotonic seconds since the first call.
func now() -> Double {
    let d = ContinuousClock.now - clockStart
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

private let clockStart = ContinuousClock.now
