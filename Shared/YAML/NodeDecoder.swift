/// The `Decoder` for one node of the tree. Containers hand out child decoders for the
/// nodes below, each knowing its key path for errors.
struct NodeDecoder: Decoder {
    let node: YAMLNode
    /// The key path in the form errors print it, e.g. `pools[2].name`.
    let path: String
    let codingPath: [any CodingKey]
    let state: DecodingState
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let entries, let mark) = node else { throw mismatch(expected: "a mapping") }
        return KeyedDecodingContainer(KeyedContainer<Key>(decoder: self, entries: entries, mark: mark))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .sequence(let items, let mark) = node else { throw mismatch(expected: "a sequence") }
        return UnkeyedContainer(decoder: self, items: items, mark: mark)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(decoder: self)
    }

    init(node: YAMLNode, path: String, codingPath: [any CodingKey], state: DecodingState) {
        self.node = node
        self.path = path
        self.codingPath = codingPath
        self.state = state
        // Registered now, not when a keyed container opens: a type that never reads a
        // mapping it was given (an empty struct, say) leaves all of its keys unknown.
        if case .mapping(let entries, _) = node {
            state.register(mappingAt: path, entries: entries)
        }
    }

    /// A decoder for a node below this one.
    func child(_ node: YAMLNode, key: any CodingKey) -> NodeDecoder {
        let childPath = key is IndexKey ? path + "[\(key.intValue ?? 0)]" : Self.path(path, key: key.stringValue)
        return NodeDecoder(node: node, path: childPath, codingPath: codingPath + [key], state: state)
    }

    /// Joins a mapping's path and one of its keys.
    static func path(_ path: String, key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    /// An error about this node.
    func error(_ code: YAMLError.Code, _ message: String) -> YAMLError {
        YAMLError(code: code, file: state.fileName, mark: node.mark, path: path, message: message)
    }

    /// "expected X, found Y" about this node.
    func mismatch(expected: String) -> YAMLError {
        error(.typeMismatch, "expected \(expected), found \(node.foundDescription)")
    }
}

// MARK: - Scalars

extension NodeDecoder {
    func decodeString() throws(YAMLError) -> String {
        guard case .scalar(let text, _) = node else { throw mismatch(expected: "a string") }
        return text
    }

    func decodeBool() throws(YAMLError) -> Bool {
        guard case .scalar(let text, _) = node else { throw mismatch(expected: "true or false") }
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw mismatch(expected: "true or false")
        }
    }

    /// Decimal integers with an optional sign; `3.5`, `abc` and `1e3` are refused.
    func decodeInteger<I: FixedWidthInteger>(_ type: I.Type) throws(YAMLError) -> I {
        guard case .scalar(let text, _) = node else { throw mismatch(expected: "an integer") }
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw mismatch(expected: "an integer")
        }
        guard let value = I(text) else {
            throw error(.invalidValue, "expected an integer from \(I.min) to \(I.max), found \(text)")
        }
        return value
    }

    /// Decimal numbers (integers too) and YAML's `.inf`, `-.inf`, `.nan`; not `inf` or `0x1p3`.
    func decodeFloat<F: BinaryFloatingPoint & LosslessStringConvertible>(_ type: F.Type) throws(YAMLError) -> F {
        guard case .scalar(let text, _) = node else { throw mismatch(expected: "a number") }
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        let allowed = Set("0123456789.eE+-")
        guard text.contains(where: \.isNumber), text.allSatisfy({ allowed.contains($0) }), let value = F(text) else {
            throw mismatch(expected: "a number")
        }
        return value
    }
}

/// The key of a sequence item: its index, printed as `[i]` in paths.
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }

    init(_ index: Int) { intValue = index }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}
