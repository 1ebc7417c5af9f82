import Foundation
import Postgres
import Testing

@Suite("Text encoding and decoding")
struct PostgresCodingTests {
    @Test("values encode to PostgreSQL's text input format")
    func encode() throws {
        #expect("O'Reilly ✓".postgresText == "O'Reilly ✓")
        #expect((-42).postgresText == "-42")
        #expect(Int.max.postgresText == "9223372036854775807")
        #expect(1.5.postgresText == "1.5")
        #expect(0.1.postgresText == "0.1")
        #expect(Double.nan.postgresText == "NaN")
        #expect(Double.infinity.postgresText == "Infinity")
        #expect((-Double.infinity).postgresText == "-Infinity")
        #expect(true.postgresText == "true")
        #expect(false.postgresText == "false")
        let uuid = try #require(UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF"))
        #expect(uuid.postgresText == "6f9619ff-8b86-d011-b42d-00c04fc964ff")
    }

    @Test("dates encode as RFC 3339 UTC with milliseconds")
    func encodeDates() {
        #expect(Date(timeIntervalSince1970: 0).postgresText == "1970-01-01T00:00:00.000Z")
        #expect(Date(timeIntervalSince1970: 1_795_761_711.123).postgresText == "2026-11-27T06:41:51.123Z")
        #expect(Date(timeIntervalSince1970: -0.001).postgresText == "1969-12-31T23:59:59.999Z")
        #expect(Date(timeIntervalSince1970: 951_782_400).postgresText == "2000-02-29T00:00:00.000Z")
    }

    @Test("scalars decode from PostgreSQL's text output")
    func decodeScalars() throws {
        #expect(try String(postgresText: "héllo") == "héllo")
        #expect(try Int(postgresText: "-7") == -7)
        #expect(try Double(postgresText: "1.5") == 1.5)
        #expect(try Double(postgresText: "1e+100") == 1e100)
        #expect(try Double(postgresText: "123.4500") == 123.45)
        #expect(try Double(postgresText: "NaN").isNaN)
        #expect(try Double(postgresText: "Infinity") == .infinity)
        #expect(try Double(postgresText: "-Infinity") == -.infinity)
        #expect(try Bool(postgresText: "t") == true)
        #expect(try Bool(postgresText: "f") == false)
        #expect(try UUID(postgresText: "6f9619ff-8b86-d011-b42d-00c04fc964ff").uuidString == "6F9619FF-8B86-D011-B42D-00C04FC964FF")
    }

    @Test("bad text fails with .decoding and does not echo the value", arguments: [
        ("Int", "12abc"), ("Double", "twelve"), ("Bool", "yes"), ("UUID", "not-a-uuid"), ("Date", "2026-13-01 00:00:00+00"),
    ])
    func decodeFailures(type: String, text: String) {
        #expect {
            switch type {
            case "Int": _ = try Int(postgresText: text)
            case "Double": _ = try Double(postgresText: text)
            case "Bool": _ = try Bool(postgresText: text)
            case "UUID": _ = try UUID(postgresText: text)
            default: _ = try Date(postgresText: text)
            }
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.code == .decoding && !error.message.contains(text)
        }
    }

    @Test("timestamptz output decodes with any offset and precision", arguments: [
        ("2026-11-29 06:41:51.123456+00", 1_795_934_511.123456),
        ("2026-11-29 06:41:51+00", 1_795_934_511),
        ("2026-11-29 12:11:51.5+05:30", 1_795_934_511.5),
        ("2026-11-28 22:41:51.25-08", 1_795_934_511.25),
        ("2026-11-29 07:41:51.123+0100", 1_795_934_511.123),
        ("2026-11-29T06:41:51.123Z", 1_795_934_511.123),
        ("2026-11-29 06:41:51.1234567+00", 1_795_934_511.123456),
        ("1969-12-31 23:59:59.999+00", -0.001),
        ("2026-11-29 06:41:51", 1_795_934_511),
    ])
    func decodeDates(text: String, expected: Double) throws {
        let date = try Date(postgresText: text)
        #expect(abs(date.timeIntervalSince1970 - expected) < 0.000_001, "\(text) -> \(date.timeIntervalSince1970)")
    }

    @Test("timestamps Date cannot hold faithfully are errors", arguments: [
        "infinity", "-infinity", "2026-11-29 06:41:51+00 BC", "2026-11-29", "2026-11-29 06:41:51.+00", "2026-11-29 06:41:51+5",
    ])
    func rejectDates(text: String) {
        #expect(throws: PostgresError.self) { try Date(postgresText: text) }
    }

    @Test("a date survives encoding then decoding to the millisecond")
    func dateRoundTrip() throws {
        for seconds in [0, 1.001, 1_795_934_511.999, -86_400.5, 4_102_444_800.25] {
            let date = Date(timeIntervalSince1970: seconds)
            let decoded = try Date(postgresText: date.postgresText)
            #expect(abs(decoded.timeIntervalSince1970 - seconds) < 0.000_5, "\(seconds)")
        }
    }
}
