#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// RFC 3339 UTC timestamps with milliseconds, the one format used in Redis hashes, messages
/// and the API (contract: "Timestamps in Redis hashes and in the API are RFC 3339 UTC").
public enum Timestamp {
    /// `date` as `2026-11-29T06:41:51.123Z`.
    public static func string(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
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
