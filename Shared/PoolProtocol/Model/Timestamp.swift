#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CalendarTime

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
        return CalendarTime.rfc3339(millisecondsSince1970: milliseconds)
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
