import Foundation
import PoolProtocol
import Testing

/// The API's timestamps: RFC 3339 UTC with milliseconds, rendered the same however often a
/// timestamp travels as text and back (a task's ending in a message, then in an answer).
@Suite struct TimestampTests {
    @Test("known instants render as RFC 3339 UTC and parse back")
    func knownInstants() throws {
        let cases: [(Double, String)] = [
            (1_800_000_000.5, "2027-01-15T08:00:00.500Z"),
            (0, "1970-01-01T00:00:00.000Z"),
            (-0.001, "1969-12-31T23:59:59.999Z"),
            (951_782_400.25, "2000-02-29T00:00:00.250Z"),
            (4_107_542_400, "2100-03-01T00:00:00.000Z"),
            (1_798_761_599.999, "2026-12-31T23:59:59.999Z"),
        ]
        for (seconds, text) in cases {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(Timestamp.string(date) == text)
            let parsed = try #require(Timestamp.date(text))
            #expect(abs(parsed.timeIntervalSince(date)) < 0.000_01, "\(text)")
        }
        #expect(Timestamp.date("2026-12-03T10:42:55Z") == Date(timeIntervalSince1970: 1_796_294_575))
        #expect(Timestamp.date("yesterday") == nil)
    }

    @Test("every millisecond renders as Foundation's ISO 8601 format style renders it")
    func agreesWithFoundation() {
        var generator = SystemRandomNumberGenerator()
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
        var checked = 0
        for _ in 0..<20_000 {
            // Whole milliseconds from 1970 to 2200, plus 0.4 ms: a formatter that rounds and
            // one that truncates agree on these.
            let milliseconds = Int.random(in: 0..<7_258_118_400_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000 + 0.0004)
            #expect(Timestamp.string(date) == date.formatted(style), "\(milliseconds)")
            checked += 1
        }
        print("compared \(checked) timestamps with Foundation's format style")
    }

    @Test("a timestamp parsed back from its text renders as the same text")
    func roundTripsAreStable() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            // Microsecond instants, as PostgreSQL's timestamptz holds them, around the present.
            let microseconds = Int.random(in: 1_700_000_000_000_000..<2_000_000_000_000_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
            let text = Timestamp.string(date)
            let again = try #require(Timestamp.date(text))
            #expect(Timestamp.string(again) == text, "\(microseconds)")
        }
    }
}
