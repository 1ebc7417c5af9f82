#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CalendarTime

/// Text forms of `Date` for PostgreSQL, done by hand: exact to the microsecond, free of
/// locale and formatter state, and safe to call from any thread.
enum PostgresTimestamp {
    /// RFC 3339 in UTC with milliseconds: "2026-11-29T06:41:51.123Z".
    static func format(_ date: Date) -> String {
        CalendarTime.rfc3339(millisecondsSince1970: Int((date.timeIntervalSince1970 * 1000).rounded()))
    }

    /// Reads "YYYY-MM-DD HH:MM:SS[.ffffff][offset]" with a space or "T" between date and
    /// time, where offset is "Z", "±HH", "±HH:MM", "±HHMM" or "±HH:MM:SS"; nil otherwise
    /// (including "infinity" and BC dates, which `Date` cannot stand for faithfully).
    static func parse(_ text: String) -> Date? {
        var scanner = ByteScanner(Array(text.utf8))
        guard let year = scanner.number(minDigits: 4, maxDigits: 6), scanner.skip("-"),
            let month = scanner.number(digits: 2), scanner.skip("-"),
            let day = scanner.number(digits: 2), scanner.skip(" ") || scanner.skip("T"),
            let hour = scanner.number(digits: 2), scanner.skip(":"),
            let minute = scanner.number(digits: 2), scanner.skip(":"),
            let second = scanner.number(digits: 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }

        var microseconds: Int64 = 0
        if scanner.skip(".") {
            var digits = 0
            while let digit = scanner.digit() {
                // Digits past the sixth are below PostgreSQL's precision: drop them.
                if digits < 6 { microseconds = microseconds * 10 + Int64(digit) }
                digits += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { microseconds *= 10 }
        }

        var offsetSeconds: Int64 = 0
        if scanner.skip("Z") || scanner.skip("z") {
            offsetSeconds = 0
        } else if let sign = scanner.sign() {
            guard let hours = scanner.number(digits: 2) else { return nil }
            var minutes: Int64 = 0
            var seconds: Int64 = 0
            let hadColon = scanner.skip(":")
            if let value = scanner.number(digits: 2) {
                minutes = value
                if hadColon, scanner.skip(":") {
                    guard let value = scanner.number(digits: 2) else { return nil }
                    seconds = value
                }
            } else if hadColon {
                return nil
            }
            offsetSeconds = sign * (hours * 3600 + minutes * 60 + seconds)
        }
        guard scanner.isAtEnd else { return nil }

        let days = Int64(CalendarTime.daysSince1970(year: Int(year), month: Int(month), day: Int(day)))
        let localSeconds = days * 86_400 + hour * 3600 + minute * 60 + second
        let utcSeconds = localSeconds - offsetSeconds
        return Date(timeIntervalSince1970: Double(utcSeconds) + Double(microseconds) / 1_000_000)
    }
}

/// A cursor over ASCII bytes for the timestamp parser.
private struct ByteScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { index == bytes.count }

    mutating func skip(_ character: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
        index += 1
        return true
    }

    /// +1 or -1 after consuming "+" or "-"; nil (and nothing consumed) otherwise.
    mutating func sign() -> Int64? {
        if skip("+") { return 1 }
        if skip("-") { return -1 }
        return nil
    }

    mutating func digit() -> Int? {
        guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
        else { return nil }
        defer { index += 1 }
        return Int(bytes[index] - UInt8(ascii: "0"))
    }

    mutating func number(digits: Int) -> Int64? { number(minDigits: digits, maxDigits: digits) }

    mutating func number(minDigits: Int, maxDigits: Int) -> Int64? {
        let start = index
        var value: Int64 = 0
        while index - start < maxDigits, let digit = digit() { value = value * 10 + Int64(digit) }
        guard index - start >= minDigits else {
            index = start
            return nil
        }
        return value
    }
}
