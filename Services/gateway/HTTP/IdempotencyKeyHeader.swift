import HTTPTypes

/// The optional `Idempotency-Key` header of spawns and task submits.
enum IdempotencyKeyHeader {
    static let name = HTTPField.Name("Idempotency-Key")!
    /// Bounds what is stored with each row and compared on every replay.
    static let maxLength = 255

    /// The key, nil when absent; `invalid` makes the error for a malformed one (each API
    /// names its own error code).
    static func parse(_ headers: HTTPFields, invalid: (String) -> APIError = APIError.badRequest) throws -> String? {
        guard let key = headers[name] else { return nil }
        guard (1...maxLength).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw invalid("Idempotency-Key must be 1 to \(maxLength) visible ASCII characters.")
        }
        return key
    }
}
