import Foundation
import Testing
@testable import Strata

/// Trading calendars: session buckets and filters on the days around Chinese New Year (XSHG) and
/// an early close (XNYS), checked against buckets computed here from the exchanges' hours.
@Suite struct SessionTests {
    /// One row a minute, every minute of the days [from, to) (UTC), v = the minute's number.
    static func minuteBars(_ path: String, from: Int64, to: Int64) throws -> Database {
        let db = try Database.open(path)
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("v", .int64)]))
            var t = from
            while t < to {
                try tx.append(to: "t", symbol: "s", time: t, values: [.int64(t / 60_000)])
                t += 60_000
            }
        }
        return db
    }

    static func day(_ y: Int64, _ m: Int64, _ d: Int64) -> Int64 { CivilDate.daysFromCivil(y, m, d) * 86_400_000 }

    /// Expected buckets: per trading day (local), per session [start, end) in local minutes, buckets
    /// of `step` minutes cut from the session start; (bucket start UTC, rows, first v).
    static func expected(days: [Int64], offsetMinutes: Int64, sessions: [(Int64, Int64)], step: Int64) -> [[ResultValue]] {
        var out: [[ResultValue]] = []
        for d in days {
            for (start, end) in sessions {
                var b = start
                while b < end {
                    let e = min(b + step, end)
                    let utc = d + (b - offsetMinutes) * 60_000
                    out.append([.int(utc), .int(e - b), .int(utc / 60_000)])
                    b += step
                }
            }
        }
        return out
    }

    @Test func shanghaiSessionsAroundChineseNewYear() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        // 2024-02-07 (Wed) to 2024-02-20 (Tue); closed 2024-02-09 to 2024-02-17, and on the weekend.
        let db = try Self.minuteBars(dir.sub("db"), from: Self.day(2024, 2, 6), to: Self.day(2024, 2, 21))
        let snap = try db.snapshot()
        let trading = [Self.day(2024, 2, 7), Self.day(2024, 2, 8), Self.day(2024, 2, 19), Self.day(2024, 2, 20)]
        let sessions: [(Int64, Int64)] = [(570, 690), (780, 900)]
        for step: Int64 in [30, 45, 60, 7] {
            let r = try snap.query("SELECT ts, count(*), first(v) FROM t WHERE ts >= '2024-02-07T00:00:00+08:00' SAMPLE BY \(step)m ALIGN TO SESSION 'XSHG'")
            #expect(r.rows == Self.expected(days: trading, offsetMinutes: 480, sessions: sessions, step: step), "step \(step)")
        }
        let afternoon = try snap.query("SELECT count(*), min(ts), max(ts) FROM t WHERE SESSION 'XSHG' = 'afternoon' AND ts >= '2024-02-07T00:00:00+08:00'")
        #expect(afternoon.rows == [[.int(4 * 120), .int(trading[0] + 300 * 60_000), .int(trading[3] + 419 * 60_000)]])
        let named = try snap.query("SELECT session('XSHG') AS s, count(*) FROM t WHERE ts >= '2024-02-07T00:00:00+08:00' GROUP BY s ORDER BY s")
        #expect(named.rows == [[.string("afternoon"), .int(480)], [.string("morning"), .int(480)], [.null, .int(Int64(14 * 1440 + 480 - 960))]])
        try db.close()
    }

    @Test func newYorkEarlyCloseAndHoliday() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        // 2024-11-27 (Wed) to 2024-12-02 (Mon): Thanksgiving on the 28th, an early close at 13:00 on the 29th.
        let db = try Self.minuteBars(dir.sub("db"), from: Self.day(2024, 11, 27), to: Self.day(2024, 12, 3))
        let r = try db.snapshot().query("SELECT ts, count(*), first(v) FROM t SAMPLE BY 1h ALIGN TO SESSION 'XNYS'")
        var want = Self.expected(days: [Self.day(2024, 11, 27)], offsetMinutes: -300, sessions: [(570, 960)], step: 60)
        want += Self.expected(days: [Self.day(2024, 11, 29)], offsetMinutes: -300, sessions: [(570, 780)], step: 60)
        want += Self.expected(days: [Self.day(2024, 12, 2)], offsetMinutes: -300, sessions: [(570, 960)], step: 60)
        #expect(r.rows == want)
        try db.close()
    }

    @Test func aDatabaseCalendarFileReplacesOrAddsOne() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let db = try Self.minuteBars(dir.sub("db"), from: Self.day(2024, 3, 4), to: Self.day(2024, 3, 5))
        try FileManager.default.createDirectory(atPath: dir.sub("db/calendars"), withIntermediateDirectories: true)
        try """
            # a test exchange: two short sessions in UTC, Monday only
            calendar TEST
            zone UTC
            weekdays Mon
            session one 01:00 01:10   # ten minutes
            session two 02:00 02:05
            """.write(toFile: dir.sub("db/calendars/TEST.calendar"), atomically: true, encoding: .utf8)
        let snap = try db.snapshot()
        let r = try snap.query("SELECT ts, count(*) FROM t SAMPLE BY 4m ALIGN TO SESSION 'TEST'")
        let d = Self.day(2024, 3, 4)
        #expect(r.rows == [[.int(d + 60 * 60_000), .int(4)], [.int(d + 64 * 60_000), .int(4)], [.int(d + 68 * 60_000), .int(2)], [.int(d + 120 * 60_000), .int(4)], [.int(d + 124 * 60_000), .int(1)]])
        try "calendar BAD\nzone UTC\nsession x 10:00 09:00\n".write(toFile: dir.sub("db/calendars/BAD.calendar"), atomically: true, encoding: .utf8)
        #expect { try snap.query("SELECT count(*) FROM t WHERE SESSION 'BAD' = 'x'") } throws: { "\($0)".contains("line 3") }
        #expect { try snap.query("SELECT count(*) FROM t WHERE SESSION '../x' = 'x'") } throws: { "\($0)".contains("not a calendar name") }
        try db.close()
    }

    /// Times and dates of a calendar file are digits in range: a 19-digit hour (which overflowed
    /// the seconds, found by the fuzzer), a sign, a space or an empty field is an error naming the
    /// line, and the edges (00:00, 24:00, 23:59:59) parse.
    @Test func calendarTimesAndDatesAreCheckedNotTrapped() throws {
        func parse(_ session: String, holiday: String = "2024-02-29") throws -> TradingCalendar {
            try TradingCalendar.parse("calendar T\nzone UTC\nsession a \(session)\nholiday \(holiday)\n", source: "test")
        }
        for bad in ["009223372036854775807:00 24:00", "9223372036854775807:00 24:00", "25:00 26:00", "+9:00 10:00", "09:-1 10:00",
            "9: 10:00", ":30 10:00", "09:30:60 10:00", "24:01 24:00"]
        {
            #expect(throws: StrataError.self, "session \(bad)") { try parse(bad) }
        }
        for bad in ["2024-02-+29", "2024-02-30", "+2024-02-01", "2024-2-", "20240-01-01"] {
            #expect(throws: StrataError.self, "holiday \(bad)") { try parse("09:30 15:00", holiday: bad) }
        }
        #expect((try? parse("00:00 24:00")) != nil)
        #expect((try? parse("9:30 23:59:59", holiday: "2024-2-9")) != nil)
    }
}
