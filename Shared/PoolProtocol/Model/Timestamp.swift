#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// RFC 3339 UTC timestamps with milliseconds, the one format used in Redis hashes, messages
/// and the API (contract: "Timestamps in Redis hashes and in the API are RFC 3339 UTC").
public enum Timestamp {
    /// `date` as `2026-11-29T06:41:51.123Z`, rounded down to its millisecond.
    ///
    /// Rendered from whole milliseconds rather than by Foundation's format style, for one
    /// reason of correctness and one of cost. A timestamp parsed back from this text is a
    /// double a hair below its millisecond, and a formatter that truncates renders it one
    /// millisecond early: a task's `finished_at` carried in a message and rendered again
    /// differed from the row's. The microsecond of slack below keeps every parsed timestamp on
    /// its own millisecond (a double near the present resolves about 0.24 µs), so
    /// `string(date(string(d))) == string(d)`. And every task the API answers renders three or
    /// four of these: integer arithmetic costs a fraction of the format style.
    public static func string(_ date: Date) -> String {
        let milliseconds = Int((date.timeIntervalSince1970 * 1000 + 0.001).rounded(.down))
        return string(millisecondsSince1970: milliseconds)
    }

    /// Milliseconds since the Unix epoch as RFC 3339 UTC (years 0001 to 9999; others clamp).
    static func string(millisecondsSince1970 milliseconds: Int) -> String {
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
    static func civilDate(daysSince1970 days: Int) -> (year: Int, month: Int, day: Int) {
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

    /// Parses what `string(_:)` writes (also without fractional seconds).
    public static func date(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).parse(text) {
            return date
        }
        return try? Date.ISO8601FormatStyle(timeZone: .gmt).parse(text)
    }

    /// Milliseconds since the Unix epoch, the unit of reservation deadlines in Redis.
    public static func milliseconds(_ date: Date) -> Int {
        Int((date.timeIntervalSince1970 * 1000).rounded())
    }
}
