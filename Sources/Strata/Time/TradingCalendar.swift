/// An exchange's trading calendar: its time zone, the weekdays it trades, its sessions (local
/// clock times, such as 09:30–11:30 and 13:00–15:00), its holidays and its early closes. Read from
/// a text file in the format README.md's "Trading calendars" describes; XSHG, XSHE and XNYS are
/// built in, and a database's `calendars/NAME.calendar` file replaces or adds one.
public struct TradingCalendar: Sendable {
    /// The calendar's name (`XSHG`).
    public let name: String
    let zone: ZoneRules
    /// The sessions' names, in the order of the day.
    public let sessionNames: [String]
    /// Each session's [start, end) in seconds after local midnight.
    let sessions: [(start: Int64, end: Int64)]
    /// Trading weekdays: bit 0 Monday ... bit 6 Sunday.
    let weekdays: UInt8
    /// Local days (days since 1970-01-01) without trading.
    let holidays: Set<Int64>
    /// Local days whose trading ends early, at this many seconds after midnight.
    let earlyCloses: [Int64: Int64]

    /// The zone's offset, kept between consecutive lookups.
    struct Cursor {
        var span: Range<Int64> = 0..<0
        var offset: Int64 = 0
    }

    /// The session in which time `t` (units of `perSecond` a second) falls, and its start time
    /// in the same units; nil outside every session.
    func session(at t: Int64, perSecond: Int64, cursor: inout Cursor) -> (session: Int, start: Int64)? {
        let second = floorDiv(t, perSecond)
        if !cursor.span.contains(second) {
            cursor.span = zone.stableSpan(at: second)
            cursor.offset = zone.offset(at: second)
        }
        let local = second + cursor.offset
        let day = floorDiv(local, 86_400)
        guard trades(on: day) else { return nil }
        let clock = local - day * 86_400
        let close = earlyCloses[day] ?? .max
        for (k, s) in sessions.enumerated() where clock >= s.start && clock < Swift.min(s.end, close) {
            let start = zone.utc(ofLocal: day * 86_400 + s.start)
            return (k, start * perSecond)
        }
        return nil
    }

    /// Whether the exchange trades on a local day (a weekday it opens, not a holiday).
    func trades(on day: Int64) -> Bool {
        weekdays & (1 << UInt8(floorMod(day + 3, 7))) != 0 && !holidays.contains(day)
    }

    /// The start of the `step`-wide bucket of time `t` cut from its session's start; nil outside.
    func bucket(_ t: Int64, step: Int64, perSecond: Int64, cursor: inout Cursor) -> Int64? {
        guard let s = session(at: t, perSecond: perSecond, cursor: &cursor) else { return nil }
        return s.start &+ floorDiv(t &- s.start, step) &* step
    }

    // MARK: Loading

    /// The calendar `name`: the database's `calendars/NAME.calendar` if there is one, else a built-in.
    static func load(_ name: String, databaseDirectory: String?) throws(StrataError) -> TradingCalendar {
        guard !name.isEmpty, name.utf8.count <= 64, name.utf8.allSatisfy({ $0 < 0x80 && (($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f || $0 == 0x2d) }) else {
            throw .badInput("'\(name)' is not a calendar name: letters, digits, '_' and '-' only, such as 'XSHG'")
        }
        if let dir = databaseDirectory {
            let path = dir + "/calendars/" + name + ".calendar"
            if let bytes = PosixFileSystem().readSmallFile(path, limit: 1 << 22) {
                return try parse(String(decoding: bytes, as: UTF8.self), source: path)
            }
        }
        guard let text = BuiltinCalendars.text[name] else {
            let known = BuiltinCalendars.text.keys.sorted().joined(separator: ", ")
            throw .badInput("unknown trading calendar '\(name)' (built in: \(known); or add calendars/\(name).calendar to the database)")
        }
        return try parse(text, source: "the built-in calendar \(name)")
    }

    /// Parses a calendar file: one directive a line, `#` starts a comment.
    public static func parse(_ text: String, source: String) throws(StrataError) -> TradingCalendar {
        var p = CalendarParser(source: source)
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.prefix { $0 != "#" }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if words.isEmpty { continue }
            try p.directive(words, line: n + 1)
        }
        return try p.finish()
    }

    init(name: String, zone: ZoneRules, sessionNames: [String], sessions: [(start: Int64, end: Int64)], weekdays: UInt8, holidays: Set<Int64>, earlyCloses: [Int64: Int64]) {
        self.name = name
        self.zone = zone
        self.sessionNames = sessionNames
        self.sessions = sessions
        self.weekdays = weekdays
        self.holidays = holidays
        self.earlyCloses = earlyCloses
    }
}

/// The directives of a calendar file, line by line.
private struct CalendarParser {
    let source: String
    var name: String?
    var zone: ZoneRules?
    var weekdays: UInt8 = 0b0011111
    var sessions: [(name: String, start: Int64, end: Int64)] = []
    var holidays: Set<Int64> = []
    var earlyCloses: [Int64: Int64] = [:]
    static let dayNames = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]

    init(source: String) { self.source = source }

    func error(_ line: Int, _ what: String) -> StrataError {
        .badInput("\(source), line \(line): \(what)")
    }

    mutating func directive(_ w: [String], line: Int) throws(StrataError) {
        switch (w[0].lowercased(), w.count) {
        case ("calendar", 2): name = w[1]
        case ("zone", 2): zone = try ZoneRules.load(w[1])
        case ("weekdays", _):
            weekdays = 0
            for d in w.dropFirst() {
                guard let k = Self.dayNames.firstIndex(of: String(d.uppercased().prefix(3))), d.count >= 3 else { throw error(line, "'\(d)' is not a weekday (Mon ... Sun)") }
                weekdays |= 1 << UInt8(k)
            }
        case ("session", 4):
            let start = try clock(w[2], line), end = try clock(w[3], line)
            guard start < end else { throw error(line, "session \(w[1]) ends before it starts") }
            if let last = sessions.last, last.end > start { throw error(line, "sessions must be in the order of the day and must not overlap") }
            sessions.append((w[1], start, end))
        case ("holiday", 2), ("holiday", 3):
            let first = try date(w[1], line), last = w.count == 3 ? try date(w[2], line) : first
            guard first <= last, last - first < 366 else { throw error(line, "a holiday range runs forward and spans at most a year") }
            for d in first...last { holidays.insert(d) }
        case ("early-close", 3):
            earlyCloses[try date(w[1], line)] = try clock(w[2], line)
        default:
            throw error(line, "expected 'calendar NAME', 'zone Area/City', 'weekdays Mon ...', 'session NAME hh:mm hh:mm', 'holiday YYYY-MM-DD [YYYY-MM-DD]' or 'early-close YYYY-MM-DD hh:mm'")
        }
    }

    func finish() throws(StrataError) -> TradingCalendar {
        guard let name, let zone else { throw .badInput("\(source): a calendar needs a 'calendar NAME' and a 'zone Area/City' line") }
        guard !sessions.isEmpty else { throw .badInput("\(source): a calendar needs at least one 'session' line") }
        return TradingCalendar(
            name: name, zone: zone, sessionNames: sessions.map(\.name), sessions: sessions.map { ($0.start, $0.end) },
            weekdays: weekdays, holidays: holidays, earlyCloses: earlyCloses)
    }

    /// A field of a time or a date: 1 to 4 ASCII digits (no sign, no spaces), else nil.
    private static func field(_ s: Substring) -> Int64? {
        guard (1...4).contains(s.utf8.count), s.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int64(s)
    }

    /// `hh:mm` (or `hh:mm:ss`), up to 24:00, as seconds after midnight.
    func clock(_ s: String, _ line: Int) throws(StrataError) -> Int64 {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false).map(Self.field)
        guard parts.count == 2 || parts.count == 3, parts.allSatisfy({ $0 != nil }),
            parts[0]! <= 24, parts[1]! < 60, parts.count == 2 || parts[2]! < 60
        else { throw error(line, "'\(s)' is not a time of day (hh:mm)") }
        let seconds = parts[0]! * 3600 + parts[1]! * 60 + (parts.count == 3 ? parts[2]! : 0)
        guard seconds <= 86_400 else { throw error(line, "'\(s)' is past 24:00") }
        return seconds
    }

    /// `YYYY-MM-DD` as days since 1970-01-01.
    func date(_ s: String, _ line: Int) throws(StrataError) -> Int64 {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false).map(Self.field)
        guard parts.count == 3, let y = parts[0], let m = parts[1], let d = parts[2], (1...9999).contains(y), (1...12).contains(m),
            d >= 1, d <= CivilDate.daysInMonth(y, m)
        else { throw error(line, "'\(s)' is not a date (YYYY-MM-DD)") }
        return CivilDate.daysFromCivil(y, m, d)
    }
}
