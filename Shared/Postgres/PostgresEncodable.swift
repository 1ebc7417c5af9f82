#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A value that can be sent as a query parameter in PostgreSQL's text format.
///
/// Parameters go out with no declared type, so the server infers it from the statement; cast
/// in SQL where inference needs help (`$1::jsonb`, `$2::uuid`).
public protocol PostgresEncodable: Sendable {
    /// The value in PostgreSQL's text input format.
    var postgresText: String { get }
}

extension String: PostgresEncodable {
    /// The string itself.
    public var postgresText: String { self }
}

extension Int: PostgresEncodable {
    /// Decimal digits, with a leading "-" when negative.
    public var postgresText: String { String(self) }
}

extension Double: PostgresEncodable {
    /// The shortest text that reads back as the same value; NaN and infinities are spelled
    /// the way PostgreSQL's float8 input expects.
    public var postgresText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return description
    }
}

extension Bool: PostgresEncodable {
    /// "true" or "false".
    public var postgresText: String { self ? "true" : "false" }
}

extension UUID: PostgresEncodable {
    /// The canonical lowercase form, as PostgreSQL prints it.
    public var postgresText: String { uuidString.lowercased() }
}

extension Date: PostgresEncodable {
    /// RFC 3339 in UTC with milliseconds, for example "2026-11-29T06:41:51.123Z".
    public var postgresText: String { PostgresTimestamp.format(self) }
}
