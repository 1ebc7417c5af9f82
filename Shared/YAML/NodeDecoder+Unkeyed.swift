/// Reads a sequence, item by item.
struct UnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: NodeDecoder
    let items: [YAMLNode]
    let mark: YAMLMark
    private(set) var currentIndex = 0

    init(decoder: NodeDecoder, items: [YAMLNode], mark: YAMLMark) {
        self.decoder = decoder
        self.items = items
        self.mark = mark
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next { decoder throws(YAMLError) in try decoder.decodeBool() } }
    mutating func decode(_ type: String.Type) throws -> String { try next { decoder throws(YAMLError) in try decoder.decodeString() } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next { decoder throws(YAMLError) in try decoder.decodeFloat(type) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try next { decoder throws(YAMLError) in try decoder.decodeFloat(type) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try next { decoder throws(YAMLError) in try decoder.decodeInteger(type) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next { decoder throws(YAMLError) in try decoder.decodeInteger(type) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next { decoder throws(YAMLError) in try decoder.decodeInteger(type) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next { decoder throws(YAMLError) in try decoder.decodeInteger(type) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next { decoder throws(YAMLError) in try decoder.decodeInteger(type) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next { decoder throws(YAMLError) in try decoder.decodeInteger(type) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next { decoder throws(YAMLError) in try decoder.decodeInteger(type) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next { decoder throws(YAMLError) in try decoder.decodeInteger(type) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next { decoder throws(YAMLError) in try decoder.decodeInteger(type) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next { decoder throws(YAMLError) in try decoder.decodeInteger(type) } }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try nextAny { decoder in try T(from: decoder) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try nextAny { decoder in try decoder.container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try nextAny { decoder in try decoder.unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try nextAny { decoder in decoder }
    }

    /// Decodes the current item and moves on only when that worked.
    private mutating func next<T>(_ body: (NodeDecoder) throws(YAMLError) -> T) throws(YAMLError) -> T {
        let decoder = try currentDecoder()
        let value = try body(decoder)
        currentIndex += 1
        return value
    }

    private mutating func nextAny<T>(_ body: (NodeDecoder) throws -> T) throws -> T {
        let decoder = try currentDecoder()
        let value = try body(decoder)
        currentIndex += 1
        return value
    }

    private func currentDecoder() throws(YAMLError) -> NodeDecoder {
        guard !isAtEnd else {
            throw YAMLError(
                code: .typeMismatch, file: decoder.state.fileName, mark: mark, path: decoder.path,
                message: "expected more than \(items.count) item\(items.count == 1 ? "" : "s")")
        }
        return decoder.child(items[currentIndex], key: IndexKey(currentIndex))
    }
}
