/// Decodes plain `Decodable` types from YAML, with file, line and key path in every error.
///
/// Strict on purpose, because it reads configuration that people type:
/// - a key that the type never asks for is an error (typos must not pass silently);
/// - integers reject `3.5` and `abc`; numbers accept integers; booleans are `true`/`false`
///   (also `True`, `TRUE`, `False`, `FALSE`); strings accept any scalar;
/// - `key:` with nothing after it, `~` and `null` read as absent for optionals;
/// - an empty document decodes as an empty mapping.
///
/// Nothing beyond that is converted automatically: `Duration`, for instance, uses its own
/// `Codable` shape, so callers decode seconds as a number and convert.
public struct YAMLDecoder: Sendable {
    /// Creates a decoder.
    public init() {}

    /// Parses `text` as one YAML document and decodes it as `type`.
    ///
    /// - Parameter fileName: how errors name the text, e.g. `pool.yaml`.
    public func decode<T: Decodable>(_ type: T.Type, from text: String, fileName: String) throws(YAMLError) -> T {
        let root = try YAMLNode.parse(text, fileName: fileName)
        return try decode(type, from: root, fileName: fileName)
    }

    /// Decodes an already parsed node as `type`.
    ///
    /// - Parameter fileName: how errors name the text the node came from.
    public func decode<T: Decodable>(_ type: T.Type, from node: YAMLNode, fileName: String) throws(YAMLError) -> T {
        let state = DecodingState(fileName: fileName, root: node)
        let value: T
        do {
            value = try T(from: NodeDecoder(node: node, path: "", codingPath: [], state: state))
        } catch {
            throw state.yamlError(from: error)
        }
        // Unknown keys are only known once the whole value has asked for what it needs.
        try state.checkUnknownKeys()
        return value
    }
}
