/// Numbers as decimal text, written straight into an output buffer: the digits of `OutputFile`'s
/// `append(decimal:)` and `append(shortest:)`. Two digits at a time from a table of the hundred pairs,
/// each number's length known before its first byte, so that a digit costs a store and no check.
enum DecimalText {
    /// The most bytes one number takes: `-9223372036854775808`, or `-0.` and 18 decimal places.
    static let longest = 24

    private static let pairs: StaticString = """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """

    /// `m / 10^k` with `k` digits after the point (at least one: `12.0`), or `m` alone when `k` is
    /// nil, after a minus sign when `negative`: the count of bytes written at `out` (at most `longest`).
    @inline(__always)
    static func write(_ m: UInt64, fractionDigits k: Int?, negative: Bool, to out: UnsafeMutableRawPointer) -> Int {
        let text = out.assumingMemoryBound(to: UInt8.self)
        var at = 0
        if negative {
            text[0] = UInt8(ascii: "-")
            at = 1
        }
        let digits = digitCount(m)
        guard let k, k > 0 else {
            at += digits
            writeDigits(m, count: digits, endingAt: text + at)
            if k == nil { return at }
            text[at] = UInt8(ascii: ".")
            text[at + 1] = UInt8(ascii: "0")
            return at + 2
        }
        // The k places from m's last digits, then the point, then what is left (at least a 0).
        let whole = max(digits - k, 1)
        let end = at + whole + 1 + k
        let left = writeDigits(m, count: k, endingAt: text + end)
        text[at + whole] = UInt8(ascii: ".")
        writeDigits(left, count: whole, endingAt: text + at + whole)
        return end
    }

    /// The digits `m` has in decimal (1 for 0): from its bit length, since 1233 / 4096 is just above
    /// log10(2) the guess is the count or one less, and one comparison with 10^guess tells which.
    @inline(__always)
    static func digitCount(_ m: UInt64) -> Int {
        let guess = ((64 &- m.leadingZeroBitCount) &* 1_233) &>> 12
        return max(1, guess &+ (m >= powers[guess] ? 1 : 0))
    }

    /// 10^0 … 10^19, the powers of ten an unsigned 64-bit integer holds.
    private static let powers: [UInt64] = (0...19).map { k in (0..<k).reduce(1) { p, _ in p &* 10 } }

    /// The `count` lowest decimal digits of `m`, zeros in front, written to end just before `end`:
    /// returns m without them (m / 10^count).
    @discardableResult
    private static func writeDigits(_ m: UInt64, count: Int, endingAt end: UnsafeMutablePointer<UInt8>) -> UInt64 {
        var m = m
        var p = end
        var left = count
        pairs.withUTF8Buffer { table in
            while left >= 2 {
                let pair = Int(m % 100) &* 2
                m /= 100
                p -= 2
                p[0] = table[pair]
                p[1] = table[pair &+ 1]
                left -= 2
            }
            if left == 1 {
                (p - 1).pointee = UInt8(ascii: "0") &+ UInt8(m % 10)
                m /= 10
            }
        }
        return m
    }

    /// The digits and decimal places (`m`, `k`: |d| = m / 10^k) of the shortest text that reads back
    /// as `d`, for |d| between 0.001 and 10^15 with at most 15 significant digits (prices, amounts);
    /// nil for the others, which `description` writes. The smallest k with round(|d| × 10^k) / 10^k
    /// == |d| gives them, since two decimals of at most 15 digits never read as the same double.
    ///
    /// `hint` places are tried first. If they fit, fewer places fit exactly when the digits end in
    /// zeros (a decimal that fits at k' < hint is the same decimal at hint, by the uniqueness above),
    /// so the zeros are dropped; if they do not, no fewer places fit either, and the search goes on
    /// from hint + 1. `hint` becomes the places found when they are more.
    static func shortest(_ d: Double, hint: inout Int) -> (UInt64, Int)? {
        let a = d.magnitude
        guard a >= 1e-3 && a < 1e15 else { return nil }
        let tried = min(max(hint, 0), 18)
        var scale = 1.0
        for _ in 0..<tried { scale *= 10 }
        var from = 0
        switch fit(a, scale: scale) {
        case .exact(var m):
            var k = tried
            while k > 0 && m % 10 == 0 {
                m /= 10
                k -= 1
            }
            return (m, k)
        case .inexact:
            from = tried + 1
            scale *= 10
        case .tooLong:
            scale = 1
        }
        var k = from
        while k <= 18 {
            switch fit(a, scale: scale) {
            case .exact(let m):
                hint = max(hint, k)
                return (m, k)
            case .inexact: break
            case .tooLong: return nil
            }
            scale *= 10
            k += 1
        }
        return nil
    }

    private enum Fit {
        case exact(UInt64)
        case inexact
        /// a × scale has more than 15 digits before the point.
        case tooLong
    }

    /// Whether round(a × scale) / scale == a, for scale = 10^k.
    @inline(__always)
    private static func fit(_ a: Double, scale: Double) -> Fit {
        // x = (a × scale).rounded(), without the libm call: the product is below 10^15 - 0.5
        // (else x ≥ 10^15), so truncating it is exact and its fraction y - x exact too.
        // Through Int64, which x86-64 converts in one instruction each way (UInt64 in several).
        let y = a * scale
        if y >= 999_999_999_999_999.5 { return .tooLong }
        var x = Double(Int64(y))
        if y - x >= 0.5 { x += 1 }
        return x / scale == a ? .exact(UInt64(x)) : .inexact
    }
}
