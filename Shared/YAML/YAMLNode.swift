/// One node of a parsed YAML document, with the position where it starts.
///
/// Scalars stay text: what a scalar means (integer, boolean, string) depends on the type
/// that decodes it, not on YAML's guesswork. Only plain `""`, `~`, `null`, `Null` and `NULL`
/// are set apart as ``null(_:)``, so that `key:` with nothing after it reads as "absent";
/// a quoted `"null"` stays a string.
public indirect enum YAMLNode: Sendable {
    /// A scalar and its text.
    case scalar(String, YAMLMark)
    /// An empty plain scalar or one spelled `~`, `null`, `Null` or `NULL`.
    case null(YAMLMark)
    /// A sequence and its items, in order.
    case sequence([YAMLNode], YAMLMark)
    /// A mapping and its entries, in order. Keys are unique (duplicates fail to parse).
    case mapping([(key: String, keyMark: YAMLMark, value: YAMLNode)], YAMLMark)

    /// Parses one YAML document. An empty text gives an empty mapping.
    ///
    /// - Parameter fileName: used in errors only.
    public static func parse(_ text: String, fileName: String) throws(YAMLError) -> YAMLNode {
        try YAMLDocument(text: text, fileName: fileName).root
    }

    /// Where the node starts.
    public var mark: YAMLMark {
        switch self {
        case .scalar(_, let mark), .null(let mark), .sequence(_, let mark), .mapping(_, let mark):
            return mark
        }
    }

    /// True for ``null(_:)``.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value stored under `key` when this node is a mapping.
    public subscript(key: String) -> YAMLNode? {
        guard case .mapping(let entries, _) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// How an error message names what was found here: the quoted text of a scalar,
    /// or the kind of node.
    var foundDescription: String {
        switch self {
        case .scalar(let text, _):
            let shown = text.count > 40 ? text.prefix(40) + "…" : Substring(text)
            return "\"\(shown)\""
        case .null: return "nothing (null)"
        case .sequence: return "a sequence"
        case .mapping: return "a mapping"
        }
    }
}
