#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A value that can be read from a column in PostgreSQL's text output format.
public protocol PostgresDecodable {
    /// Reads the value; throws a `.decoding` error when the text is not in the expected form.
    init(postgresText: String) throws(PostgresError)
}

extension String: PostgresDecodable {
    /// The text itself.
    public init(postgresText: String) throws(PostgresError) {
        self = postgresText
    }
}

extension Int: PostgresDecodable {
    /// Reads an integer column (int2, int4, int8).
    public init(postgresText: String) throws(PostgresError) {
        guard let value = Int(postgresText) else { throw decodingError("an integer") }
        self = value
    }
}

extension Double: PostgresDecodable {
    /// Reads float4, float8 or numeric text, including "NaN", "Infinity" and "-Infinity".
    public init(postgresText: String) throws(PostgresError) {
        switch postgresText {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(postgresText) else { throw decodingError("a number") }
            self = value
        }
    }
}

extension Bool: PostgresDecodable {
    /// Reads a boolean column ("t" or "f"; "true" and "false" are accepted too).
    public init(postgresText: String) throws(PostgresError) {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw decodingError("a boolean")
        }
    }
}

extension UUID: PostgresDecodable {
    /// Reads a uuid column.
    public init(postgresText: String) throws(PostgresError) {
        guard let value = UUID(uuidString: postgresText) else { throw decodingError("a UUID") }
        self = value
    }
}

extension Date: PostgresDecodable {
    /// Reads timestamptz output such as "2026-11-29 06:41:51.123456+00" (any offset, with or
    /// without fraction) and RFC 3339 text; a timestamp without an offset is taken as UTC.
    public init(postgresText: String) throws(PostgresError) {
        guard let value = PostgresTimestamp.parse(postgresText) else {
            throw decodingError("a timestamp")
        }
        self = value
    }
}

/// The value itself is left out of the message: it may be data the caller must not log.
private func decodingError(_ expected: String) -> PostgresError {
    PostgresError(code: .decoding, message: "The text is not \(expected).")
}
