/// Calendar arithmetic on the proleptic Gregorian calendar (days since 1970-01-01), after
/// Howard Hinnant's `days_from_civil`.
public enum CivilDate {
    /// Days since 1970-01-01 of a proleptic Gregorian date.
    public static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date of a day number since 1970-01-01.
    public static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func daysInMonth(_ year: Int64, _ month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// Reads a time given on the command line or in a query: an integer in the table's unit, or an
/// ISO-8601 date or date-time (`2025-08-20`, `2025-08-20T09:30:00+08:00`, `…T01:30:00.5Z`).
/// Without an offset the time is UTC.
public enum TimeParser {
    /// A time as an integer in `unit`, or ISO-8601 text (`2025-08-20`, `2025-08-20T09:30:00+08:00`; UTC without an offset).
    public static func parse(_ text: String, unit: TimeUnit) throws(StrataError) -> Int64 {
        let bytes = Array(text.utf8)
        if case .value(let v) = bytes.withUnsafeBytes({ NumberParser.int64($0) }) { return v }
        guard let v = iso8601(bytes, unit: unit) else {
            throw .badInput("'\(text)' is neither an integer time in \(unit) nor an ISO-8601 date or time such as 2025-08-20T09:30:00+08:00")
        }
        return v
    }

    private static func iso8601(_ b: [UInt8], unit: TimeUnit) -> Int64? {
        var i = 0
        func number(_ digits: Int) -> Int64? {
            guard i + digits <= b.count else { return nil }
            var v: Int64 = 0
            for k in i..<i + digits {
                let d = b[k] &- UInt8(ascii: "0")
                if d > 9 { return nil }
                v = v * 10 + Int64(d)
            }
            i += digits
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        var negativeYear = false
        if i < b.count && b[i] == UInt8(ascii: "-") { negativeYear = true; i += 1 }
        guard var year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2) else { return nil }
        if negativeYear { year = -year }
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysInMonth(year, month) else { return nil }
        var hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0
        var fraction: Int64 = 0, fractionDigits = 0
        var offsetSeconds: Int64 = 0
        if i < b.count && (b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: " ")) {
            i += 1
            guard let h = number(2), expect(":"), let m = number(2) else { return nil }
            hour = h
            minute = m
            if expect(":") {
                guard let s = number(2) else { return nil }
                second = s
                if expect(".") || expect(",") {
                    while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") {
                        if fractionDigits < 9 {
                            fraction = fraction * 10 + Int64(b[i] - UInt8(ascii: "0"))
                            fractionDigits += 1
                        }
                        i += 1
                    }
                    if fractionDigits == 0 { return nil }
                }
            }
            guard hour < 24, minute < 60, second < 60 else { return nil }
            if expect("Z") || expect("z") {
            } else if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) {
                let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard let oh = number(2) else { return nil }
                _ = expect(":")
                let om = number(2) ?? 0
                guard oh <= 23, om < 60 else { return nil }
                offsetSeconds = sign * (oh * 3600 + om * 60)
            }
        }
        guard i == b.count else { return nil }
        while fractionDigits < 9 { fraction *= 10; fractionDigits += 1 }  // nanoseconds
        let days = CivilDate.daysFromCivil(year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        let (scaled, o1) = seconds.multipliedReportingOverflow(by: unit.perSecond)
        let (total, o2) = scaled.addingReportingOverflow(fraction / (1_000_000_000 / unit.perSecond))
        return o1 || o2 ? nil : total
    }
}
