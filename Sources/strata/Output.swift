import Strata

#if canImport(Glibc)
import Glibc
#endif

/// Buffered output to a file descriptor.
final class FileWriter {
    let fd: Int32
    private var buffer: [UInt8] = []

    nonisolated(unsafe) static let stderr = FileWriter(fd: 2, capacity: 0)

    init(fd: Int32, capacity: Int = 1 << 16) {
        self.fd = fd
        buffer.reserveCapacity(capacity)
    }

    func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 16 || fd == 2 { flush() }
    }

    func byte(_ b: UInt8) { buffer.append(b) }

    func int(_ v: Int64) {
        if v < 0 { buffer.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        let start = buffer.count
        repeat {
            buffer.append(UInt8(ascii: "0") + UInt8(m % 10))
            m /= 10
        } while m > 0
        buffer[start...].reverse()
    }

    /// The shortest text that parses back to the same bits (`0.30000000000000004`, `-0.0`, `5e-324`).
    func double(_ d: Double, json: Bool = false) {
        if json && !d.isFinite {
            buffer.append(contentsOf: "null".utf8)
        } else {
            buffer.append(contentsOf: d.description.utf8)
        }
    }

    func endRecord() {
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                break
            }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// A CSV field, quoted when it holds a comma, a quote, or a line break.
func csvField(_ s: String) -> String {
    if !s.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }) {
        return s
    }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
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

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
