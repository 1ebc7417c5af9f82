import PoolProtocol

extension JSONValue {
    /// Whether a string or key anywhere inside holds U+0000, which PostgreSQL's `jsonb`
    /// cannot store: such a body is refused as invalid rather than failing in the database.
    var containsNul: Bool {
        switch self {
        case .string(let text): text.unicodeScalars.contains("\u{0}")
        case .array(let items): items.contains(where: \.containsNul)
        case .object(let fields): fields.contains { $0.key.unicodeScalars.contains("\u{0}") || $0.value.containsNul }
        case .null, .bool, .number: false
        }
    }
}
