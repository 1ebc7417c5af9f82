/// The JSON of every API error: `{"error": {"code": "...", "message": "..."}}`.
public struct ErrorBody: Sendable, Codable, Hashable {
    public struct Detail: Sendable, Codable, Hashable {
        /// Machine-readable, snake_case (e.g. `pool_not_found`).
        public var code: String
        /// For people: what is wrong and, where it helps, what to do.
        public var message: String
    }

    public var error: Detail

    public init(code: String, message: String) {
        self.error = Detail(code: code, message: message)
    }
}
