/// Reads a mapping. Every key the type touches (`decode`, `decodeIfPresent`, `contains`,
/// `decodeNil`, nested containers) is noted, so keys nobody asked for can be reported.
struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoder
    let entries: [(key: String, keyMark: YAMLMark, value: YAMLNode)]
    let mark: YAMLMark

    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { entries.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool {
        value(for: key) != nil
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        value(for: key)?.isNull ?? true
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).decodeBool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).decodeString() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).decodeFloat(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try child(key).decodeFloat(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).decodeInteger(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).decodeInteger(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).decodeInteger(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).decodeInteger(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).decodeInteger(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).decodeInteger(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).decodeInteger(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).decodeInteger(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).decodeInteger(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).decodeInteger(type) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: child(key))
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        decoder.state.noteAsked("super", inMappingAt: decoder.path)
        let node = entries.first { $0.key == "super" }?.value ?? .null(mark)
        return decoder.child(node, key: SuperKey())
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        decoder.child(value(for: key) ?? .null(mark), key: key)
    }

    /// The value under `key`, noting that the key was asked for.
    private func value(for key: Key) -> YAMLNode? {
        decoder.state.noteAsked(key.stringValue, inMappingAt: decoder.path)
        return entries.first { $0.key == key.stringValue }?.value
    }

    /// A decoder for the value under `key`; a missing key is an error at the mapping.
    private func child(_ key: Key) throws(YAMLError) -> NodeDecoder {
        guard let node = value(for: key) else {
            var message = "missing required key \"\(key.stringValue)\""
            // A misspelt required key shows up as missing before it can show up as unknown.
            if let typo = KeySuggestion.closest(to: key.stringValue, among: entries.map(\.key)),
               let line = entries.first(where: { $0.key == typo })?.keyMark.line {
                message += " (\"\(typo)\" on line \(line) looks like a typo of it)"
            }
            throw YAMLError(code: .missingKey, file: decoder.state.fileName, mark: mark, path: decoder.path, message: message)
        }
        return decoder.child(node, key: key)
    }
}

/// The key `superDecoder()` reads, by Codable's convention.
private struct SuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) {}
    init?(intValue: Int) { nil }
}
