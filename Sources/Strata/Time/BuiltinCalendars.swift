// The calendars Strata ships with, in the calendar file format (README.md, "Trading calendars").
// Holidays as the exchanges announced them for 2023-2026; a database's calendars/NAME.calendar
// replaces a built-in one (copy the text below and extend it).

enum BuiltinCalendars {
    /// The Shanghai and Shenzhen exchanges close on the same days.
    static let chinaHolidays = """
        # New Year, Spring Festival, Qingming, Labour Day, Dragon Boat, Mid-Autumn, National Day
        holiday 2023-01-02
        holiday 2023-01-23 2023-01-27
        holiday 2023-04-05
        holiday 2023-04-29 2023-05-03
        holiday 2023-06-22 2023-06-23
        holiday 2023-09-29 2023-10-06
        holiday 2024-01-01
        holiday 2024-02-09 2024-02-17
        holiday 2024-04-04 2024-04-06
        holiday 2024-05-01 2024-05-05
        holiday 2024-06-10
        holiday 2024-09-15 2024-09-17
        holiday 2024-10-01 2024-10-07
        holiday 2025-01-01
        holiday 2025-01-28 2025-02-04
        holiday 2025-04-04 2025-04-06
        holiday 2025-05-01 2025-05-05
        holiday 2025-05-31 2025-06-02
        holiday 2025-10-01 2025-10-08
        holiday 2026-01-01 2026-01-03
        holiday 2026-02-15 2026-02-23
        holiday 2026-04-04 2026-04-06
        holiday 2026-05-01 2026-05-05
        holiday 2026-06-19 2026-06-21
        holiday 2026-09-25 2026-09-27
        holiday 2026-10-01 2026-10-07

        """

    static let china = """
        zone Asia/Shanghai
        weekdays Mon Tue Wed Thu Fri
        session morning 09:30 11:30
        session afternoon 13:00 15:00

        """

    static let text: [String: String] = [
        "XSHG": "# Shanghai Stock Exchange\ncalendar XSHG\n" + china + chinaHolidays,
        "XSHE": "# Shenzhen Stock Exchange\ncalendar XSHE\n" + china + chinaHolidays,
        "XNYS": """
            # New York Stock Exchange (regular hours; early closes at 13:00)
            calendar XNYS
            zone America/New_York
            weekdays Mon Tue Wed Thu Fri
            session regular 09:30 16:00
            holiday 2023-01-02
            holiday 2023-01-16
            holiday 2023-02-20
            holiday 2023-04-07
            holiday 2023-05-29
            holiday 2023-06-19
            holiday 2023-07-04
            holiday 2023-09-04
            holiday 2023-11-23
            holiday 2023-12-25
            early-close 2023-07-03 13:00
            early-close 2023-11-24 13:00
            holiday 2024-01-01
            holiday 2024-01-15
            holiday 2024-02-19
            holiday 2024-03-29
            holiday 2024-05-27
            holiday 2024-06-19
            holiday 2024-07-04
            holiday 2024-09-02
            holiday 2024-11-28
            holiday 2024-12-25
            early-close 2024-07-03 13:00
            early-close 2024-11-29 13:00
            early-close 2024-12-24 13:00
            holiday 2025-01-01
            holiday 2025-01-09
            holiday 2025-01-20
            holiday 2025-02-17
            holiday 2025-04-18
            holiday 2025-05-26
            holiday 2025-06-19
            holiday 2025-07-04
            holiday 2025-09-01
            holiday 2025-11-27
            holiday 2025-12-25
            early-close 2025-07-03 13:00
            early-close 2025-11-28 13:00
            early-close 2025-12-24 13:00
            holiday 2026-01-01
            holiday 2026-01-19
            holiday 2026-02-16
            holiday 2026-04-03
            holiday 2026-05-25
            holiday 2026-06-19
            holiday 2026-07-03
            holiday 2026-09-07
            holiday 2026-11-26
            holiday 2026-12-25
            early-close 2026-11-27 13:00
            early-close 2026-12-24 13:00

            """,
    ]
}
