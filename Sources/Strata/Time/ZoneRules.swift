/// A time zone from the system's tz database (`/usr/share/zoneinfo`, TZif files, RFC 8536): UTC
/// offsets by instant, for cutting days at local midnight. Times after the file's last transition
/// follow its POSIX TZ footer (`EST5EDT,M3.2.0,M11.1.0`).
package struct ZoneRules: Sendable {
    let name: String
    /// Transition instants (seconds since the epoch, ascending) and the offset from each on.
    private var transitions: [Int64] = []
    private var offsets: [Int64] = []
    /// The offset before the first transition.
    private var initial: Int64 = 0
    private var footer: PosixRule?

    static let directory = "/usr/share/zoneinfo"

    package static func load(_ name: String) throws(StrataError) -> ZoneRules {
        if name == "UTC" || name == "Etc/UTC" || name == "Z" { return ZoneRules(name: name) }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        if name.isEmpty || name.hasPrefix("/") || parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
            || name.utf8.contains(where: { !(($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || "_-+/".utf8.contains($0)) })
        {
            throw .badInput("unknown time zone '\(name)': use a tz database name such as 'Asia/Shanghai'")
        }
        guard let bytes = readFile(directory + "/" + name) else {
            throw .badInput("unknown time zone '\(name)' (no \(directory)/\(name)): use a tz database name such as 'Asia/Shanghai'")
        }
        guard let zone = parse(name, bytes) else { throw .badInput("time zone file \(directory)/\(name) is not a TZif file this reader understands") }
        return zone
    }

    private init(name: String) { self.name = name }

    private static func readFile(_ path: String) -> [UInt8]? {
        PosixFileSystem().readSmallFile(path, limit: 1 << 20)
    }

    static func parse(_ name: String, _ b: [UInt8]) -> ZoneRules? {
        func be(_ at: Int, _ n: Int) -> Int64? {
            guard at >= 0, at + n <= b.count else { return nil }
            var v: UInt64 = 0
            for k in 0..<n { v = v << 8 | UInt64(b[at + k]) }
            if n == 4 { return Int64(Int32(bitPattern: UInt32(v))) }
            return Int64(bitPattern: v)
        }
        guard b.count >= 44, b[0..<4].elementsEqual("TZif".utf8) else { return nil }
        func counts(_ at: Int) -> [Int]? {
            var c: [Int] = []
            for k in 0..<6 {
                guard let v = be(at + 20 + 4 * k, 4), v >= 0, v < 1 << 20 else { return nil }
                c.append(Int(v))
            }
            return c  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
        }
        guard var c = counts(0) else { return nil }
        var at = 44
        var timeBytes = 4
        if b[4] >= UInt8(ascii: "2") {
            // Skip the version 1 block; the 64-bit one follows with its own header.
            at += c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]
            guard let c2 = counts(at) else { return nil }
            c = c2
            at += 44
            timeBytes = 8
        }
        let timecnt = c[3], typecnt = c[4]
        guard typecnt > 0 else { return nil }
        var z = ZoneRules(name: name)
        let typesAt = at + timecnt * timeBytes
        let infoAt = typesAt + timecnt
        var typeOffsets: [Int64] = []
        for k in 0..<typecnt {
            guard let off = be(infoAt + 6 * k, 4) else { return nil }
            typeOffsets.append(off)
        }
        for k in 0..<timecnt {
            guard let t = be(at + k * timeBytes, timeBytes), typesAt + k < b.count else { return nil }
            let type = Int(b[typesAt + k])
            guard type < typecnt else { return nil }
            z.transitions.append(t)
            z.offsets.append(typeOffsets[type])
        }
        z.initial = typeOffsets[0]
        if timeBytes == 8 {
            let end = infoAt + typecnt * 6 + c[5] + c[2] * 12 + c[1] + c[0]
            if end < b.count, b[end] == UInt8(ascii: "\n"), let close = b[(end + 1)...].firstIndex(of: UInt8(ascii: "\n")) {
                z.footer = PosixRule(String(decoding: b[(end + 1)..<close], as: UTF8.self))
            }
        }
        return z
    }

    /// The offset from UTC, in seconds, at instant `t` (seconds since the epoch).
    package func offset(at t: Int64) -> Int64 {
        if transitions.isEmpty { return footer?.offset(at: t) ?? initial }
        if t < transitions[0] { return initial }
        if t >= transitions[transitions.count - 1], let footer { return footer.offset(at: t) }
        return offsets[partitionPoint(in: 0..<transitions.count) { transitions[$0] > t } - 1]
    }

    /// The instants [from, until) around `t` over which the offset does not change (at least the
    /// stretch to the next transition; after the last listed one, one day at a time).
    func stableSpan(at t: Int64) -> Range<Int64> {
        if transitions.isEmpty && footer?.dst == nil { return Int64.min..<Int64.max }
        if !transitions.isEmpty && t < transitions[0] { return Int64.min..<transitions[0] }
        if transitions.isEmpty || t >= transitions[transitions.count - 1] {
            if footer?.dst == nil { return (transitions.last ?? .min)..<Int64.max }
            // Rule-based: check that the offset holds for the whole day around t.
            let day = floorDiv(t, 86_400) * 86_400
            let o = offset(at: day)
            return offset(at: day + 86_399) == o ? day..<(day + 86_400) : t..<(t + 1)
        }
        let lo = partitionPoint(in: 0..<transitions.count) { transitions[$0] > t } - 1
        return transitions[lo]..<(lo + 1 < transitions.count ? transitions[lo + 1] : Int64.max)
    }

    /// The UTC instant of local time `local` (seconds since the epoch on the local clock): the earliest
    /// instant whose local time is at or after `local`. In an overlap (clocks go back) that is the
    /// first occurrence; in a gap (clocks go forward) it is the instant of the change.
    package func utc(ofLocal local: Int64) -> Int64 {
        let rough = local - offset(at: local)
        let before = offset(at: rough - 172_800), after = offset(at: rough + 172_800)
        let a = local - before, b = local - after
        let aHolds = offset(at: a) == before, bHolds = offset(at: b) == after
        if aHolds && bHolds { return min(a, b) }
        if aHolds { return a }
        if bHolds { return b }
        // A gap: local time jumps past `local` somewhere in [min, max]; find the first instant after.
        return partitionPoint(in: min(a, b)..<max(a, b)) { $0 + offset(at: $0) >= local }
    }
}

/// The rule of a POSIX TZ string: `STD offset [DST [offset] [,start[/time],end[/time]]]`, with
/// `Mm.w.d` dates (the form every tz database footer uses).
private struct PosixRule: Sendable {
    var std: Int64
    var dst: (offset: Int64, start: DateRule, end: DateRule)?

    struct DateRule: Sendable {
        var month: Int64, week: Int64, weekday: Int64, time: Int64
    }

    init?(_ s: String) {
        var b = Array(s.utf8)[...]
        func name() -> Bool {
            if b.first == UInt8(ascii: "<") {
                guard let close = b.firstIndex(of: UInt8(ascii: ">")) else { return false }
                b = b[(close + 1)...]
                return true
            }
            let n = b.prefix { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7a }.count
            b = b.dropFirst(n)
            return n >= 3
        }
        func number() -> Int64? {
            let n = b.prefix { $0 >= 0x30 && $0 <= 0x39 }
            guard !n.isEmpty, n.count <= 3 else { return nil }  // every field of the rule fits in 3 digits
            b = b.dropFirst(n.count)
            return Int64(String(decoding: n, as: UTF8.self))
        }
        func clock() -> Int64? {  // [+-]hh[:mm[:ss]]
            var sign: Int64 = 1
            if b.first == UInt8(ascii: "-") { sign = -1; b = b.dropFirst() } else if b.first == UInt8(ascii: "+") { b = b.dropFirst() }
            guard let h = number(), h <= 167 else { return nil }  // RFC 8536 allows -167 to 167 hours
            var v = h * 3600
            if b.first == UInt8(ascii: ":") { b = b.dropFirst(); guard let m = number(), m < 60 else { return nil }; v += m * 60 }
            if b.first == UInt8(ascii: ":") { b = b.dropFirst(); guard let sec = number(), sec < 60 else { return nil }; v += sec }
            return sign * v
        }
        func eat(_ c: Character) -> Bool {
            guard b.first == c.asciiValue else { return false }
            b = b.dropFirst()
            return true
        }
        func date() -> DateRule? {
            guard eat("M"), let m = number(), (1...12).contains(m), eat("."), let w = number(), (1...5).contains(w), eat("."),
                let d = number(), (0...6).contains(d)
            else { return nil }
            var time: Int64 = 7200
            if b.first == UInt8(ascii: "/") { b = b.dropFirst(); guard let t = clock() else { return nil }; time = t }
            return DateRule(month: m, week: w, weekday: d, time: time)
        }
        guard name(), let stdPosix = clock() else { return nil }
        std = -stdPosix  // POSIX offsets are west-positive
        if b.isEmpty { dst = nil; return }
        guard name() else { return nil }
        var dstOffset = std + 3600
        if let c = b.first, c != UInt8(ascii: ",") { guard let o = clock() else { return nil }; dstOffset = -o }
        guard eat(","), let start = date(), eat(","), let end = date() else { return nil }
        dst = (dstOffset, start, end)
    }

    package func offset(at t: Int64) -> Int64 {
        guard let dst else { return std }
        let year = CivilDate.civilFromDays(floorDiv(t + std, 86_400)).year
        // Transitions are given in local time of the offset in force before them.
        let start = Self.instant(dst.start, year: year) - std
        let end = Self.instant(dst.end, year: year) - dst.offset
        let inDST = start < end ? (t >= start && t < end) : (t >= start || t < end)
        return inDST ? dst.offset : std
    }

    /// Seconds since the epoch, on the local clock, of the rule's date and time in `year`.
    private static func instant(_ r: DateRule, year: Int64) -> Int64 {
        let first = CivilDate.daysFromCivil(year, r.month, 1)
        let firstWeekday = floorMod(first + 4, 7)  // 1970-01-01 was a Thursday (4)
        var day = first + floorMod(r.weekday - firstWeekday, 7) + (r.week - 1) * 7
        if r.week == 5 {
            let days = CivilDate.daysInMonth(year, r.month)
            while day >= first + days { day -= 7 }
        }
        return day * 86_400 + r.time
    }
}

@inline(__always)
package func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

@inline(__always)
package func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }
