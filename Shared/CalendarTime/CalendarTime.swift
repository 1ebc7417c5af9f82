/// Calendar arithmetic on the Unix epoch in whole integers, for the timestamps the services
/// write as text (the API's RFC 3339, PostgreSQL's parameters and results): exact, free of
/// locale and formatter state, and cheap.
public enum CalendarTime {
    /// Milliseconds since the Unix epoch as RFC 3339 UTC (years 0001 to 9999; others clamp).
    public static func rfc3339(millisecondsSince1970 milliseconds: Int) -> String {
        let millisecondsPerDay = 86_400_000
        let clamped = min(max(milliseconds, -62_135_596_800_000), 253_402_300_799_999)
        let days = clamped >= 0 ? clamped / millisecondsPerDay : (clamped + 1) / millisecondsPerDay - 1
        let ofDay = clamped - days * millisecondsPerDay
        let (year, month, day) = civilDate(daysSince1970: days)
        var bytes = [UInt8](repeating: 0, count: 24)
        func put(_ value: Int, _ digits: Int, at offset: Int) {
            var rest = value
            for index in stride(from: offset + digits - 1, through: offset, by: -1) {
                bytes[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
        }
        put(year, 4, at: 0)
        bytes[4] = UInt8(ascii: "-")
        put(month, 2, at: 5)
        bytes[7] = UInt8(ascii: "-")
        put(day, 2, at: 8)
        bytes[10] = UInt8(ascii: "T")
        put(ofDay / 3_600_000, 2, at: 11)
        bytes[13] = UInt8(ascii: ":")
        put(ofDay / 60_000 % 60, 2, at: 14)
        bytes[16] = UInt8(ascii: ":")
        put(ofDay / 1000 % 60, 2, at: 17)
        bytes[19] = UInt8(ascii: ".")
        put(ofDay % 1000, 3, at: 20)
        bytes[23] = UInt8(ascii: "Z")
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The proleptic Gregorian date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
    public static func civilDate(daysSince1970 days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468  // days since 0000-03-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    public static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let marchYear = month <= 2 ? year - 1 : year
        let era = (marchYear >= 0 ? marchYear : marchYear - 399) / 400
        let yearOfEra = marchYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
