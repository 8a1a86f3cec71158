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

    /// A plain number at `start` of `b` (an optional `-`, digits, for `decimal` at most one `.`)
    /// that ends at a CSV separator (`,`, a line end, or the end of `b`), read in the same pass that
    /// finds its end: the value `int64` or `double` gives that field, and the offset past its last
    /// character. Nil for anything else (a sign `+`, spaces, quotes, exponents, 16 digits or more),
    /// which the general path then reads.
    @inline(__always)
    static func plain(_ b: UnsafeRawBufferPointer, at start: Int, decimal: Bool) -> (bits: Int64, end: Int)? {
        let n = b.count
        var i = start
        let negative = i < n && b[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var mantissa: UInt64 = 0
        var count = 0, fraction = -1
        while i < n {
            let d = b[i] &- UInt8(ascii: "0")
            if d <= 9 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                count += 1
                if fraction >= 0 { fraction += 1 }
            } else if decimal && b[i] == UInt8(ascii: ".") && fraction < 0 {
                fraction = 0
            } else {
                break
            }
            i += 1
        }
        // At most 15 digits in all: exact in a Double and in an Int64, and within double()'s fast path.
        guard count > 0, count <= 15 else { return nil }
        if i < n {
            let c = b[i]
            guard c == UInt8(ascii: ",") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") else { return nil }
        }
        if !decimal { return (negative ? -Int64(mantissa) : Int64(mantissa), i) }
        let v = Double(mantissa) / exactPowers[max(fraction, 0)]
        return (Int64(bitPattern: (negative ? -v : v).bitPattern), i)
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

    /// 10^0 … 10^22, each exact in a Double. Literals, so that the array is laid out at compile time:
    /// one built by a closure is initialised lazily, a `swift_once` call at every use (3% of an import).
    private static let exactPowers: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
        1e21, 1e22,
    ]

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
