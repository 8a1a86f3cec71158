/// Number parsing from UTF-8 bytes: CSV fields, and the numbers inside ISO-8601 times.
enum NumberParser {
    enum Result<T> {
        case value(T)
        case overflow
        case invalid
    }

    /// An optionally signed decimal integer, surrounding spaces allowed.
    static func int64(_ raw: UnsafeRawBufferPointer) -> Result<Int64> {
        var i = 0, n = raw.count
        while i < n && raw[i] == UInt8(ascii: " ") { i += 1 }
        while n > i && raw[n - 1] == UInt8(ascii: " ") { n -= 1 }
        if i == n { return .invalid }
        var negative = false
        if raw[i] == UInt8(ascii: "-") || raw[i] == UInt8(ascii: "+") {
            negative = raw[i] == UInt8(ascii: "-")
            i += 1
            if i == n { return .invalid }
        }
        var magnitude: UInt64 = 0
        while i < n {
            let d = raw[i] &- UInt8(ascii: "0")
            if d > 9 { return .invalid }
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return .overflow }
            magnitude = s
            i += 1
        }
        if negative {
            if magnitude > UInt64(Int64.max) + 1 { return .overflow }
            return .value(magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude))
        }
        if magnitude > UInt64(Int64.max) { return .overflow }
        return .value(Int64(magnitude))
    }

    /// True when the field is an integer by its characters (sign and digits only).
    static func looksIntegral(_ raw: UnsafeRawBufferPointer) -> Bool {
        var digits = 0
        for (k, c) in raw.enumerated() {
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { digits += 1; continue }
            if c == UInt8(ascii: " ") { continue }
            if (c == UInt8(ascii: "-") || c == UInt8(ascii: "+")) && digits == 0 && k < raw.count - 1 { continue }
            return false
        }
        return digits > 0
    }

    private static let exactPowers: [Double] = (0...22).map { k in
        var p = 1.0
        for _ in 0..<k { p *= 10 }
        return p
    }

    /// A decimal floating-point number, correctly rounded: plain decimals of up to 15 significant
    /// digits take an exact fast path; everything else (exponents, nan, inf, long mantissas) goes
    /// through the standard library's parser.
    static func double(_ raw: UnsafeRawBufferPointer) -> Double? {
        var i = 0, n = raw.count
        while i < n && raw[i] == UInt8(ascii: " ") { i += 1 }
        while n > i && raw[n - 1] == UInt8(ascii: " ") { n -= 1 }
        if i == n { return nil }
        let start = i
        var negative = false
        if raw[i] == UInt8(ascii: "-") || raw[i] == UInt8(ascii: "+") {
            negative = raw[i] == UInt8(ascii: "-")
            i += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0, fraction = 0
        var seenDot = false, simple = i < n
        while i < n {
            let c = raw[i]
            if c == UInt8(ascii: ".") {
                if seenDot { simple = false; break }
                seenDot = true
            } else {
                let d = c &- UInt8(ascii: "0")
                if d > 9 { simple = false; break }
                if mantissa != 0 || d != 0 { digits += 1 }
                mantissa = mantissa &* 10 &+ UInt64(d)
                if seenDot { fraction += 1 }
            }
            i += 1
        }
        if simple && digits <= 15 && fraction <= 22 && (i - start) > (negative || raw[start] == UInt8(ascii: "+") ? 1 : 0)
            && !(seenDot && i - start == (negative ? 2 : 1))
        {
            let v = Double(mantissa) / exactPowers[fraction]
            return negative ? -v : v
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<n]), as: UTF8.self)
        return Double(text)
    }
}
