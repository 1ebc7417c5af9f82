/// A decoded value together with where it was written, so that checks made after decoding
/// (ranges, relations between keys) can still name the line and key path.
///
/// ```swift
/// struct Settings: Decodable { var port: YAMLLocated<Int> }
/// // settings.port.value == 8080, settings.port.mark.line == 3, settings.port.path == "port"
/// ```
/// Decodes only with ``YAMLDecoder``.
public struct YAMLLocated<Value> {
    /// The decoded value.
    public var value: Value
    /// Where the value's node starts.
    public var mark: YAMLMark
    /// The key path of the value, e.g. `pools[2].max_workers`.
    public var path: String

    /// Creates a located value.
    public init(value: Value, mark: YAMLMark, path: String) {
        self.value = value
        self.mark = mark
        self.path = path
    }
}

extension YAMLLocated: Decodable where Value: Decodable {
    /// Decodes the value and records its node's position and path.
    public init(from decoder: any Decoder) throws {
        guard let yaml = decoder as? NodeDecoder else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "YAMLLocated decodes only with YAMLDecoder"))
        }
        self.init(value: try Value(from: yaml), mark: yaml.node.mark, path: yaml.path)
    }
}

extension YAMLLocated: Sendable where Value: Sendable {}
extension YAMLLocated: Equatable where Value: Equatable {}
extension YAMLLocated: Hashable where Value: Hashable {}
