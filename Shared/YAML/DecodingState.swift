/// What one `decode` call shares between its decoders and containers: the file name for
/// errors, and which keys of which mappings were asked for (to find unknown keys at the end).
final class DecodingState {
    /// The keys of one mapping and which of them the decoded type asked for.
    private struct MappingUsage {
        let entries: [(key: String, keyMark: YAMLMark)]
        var asked: [String] = []
        var askedSet: Set<String> = []
    }

    let fileName: String
    let root: YAMLNode
    /// Keyed by path: a mapping opened twice (say, by two types reading the same node)
    /// pools what both asked for.
    private var mappings: [String: MappingUsage] = [:]

    init(fileName: String, root: YAMLNode) {
        self.fileName = fileName
        self.root = root
    }

    func register(mappingAt path: String, entries: [(key: String, keyMark: YAMLMark, value: YAMLNode)]) {
        guard mappings[path] == nil else { return }
        mappings[path] = MappingUsage(entries: entries.map { (key: $0.key, keyMark: $0.keyMark) })
    }

    func noteAsked(_ key: String, inMappingAt path: String) {
        guard mappings[path]?.askedSet.insert(key).inserted == true else { return }
        mappings[path]?.asked.append(key)
    }

    /// Reports the first key, in document order, that no type asked for.
    func checkUnknownKeys() throws(YAMLError) {
        var first: (mark: YAMLMark, path: String, key: String, known: [String])?
        for (path, usage) in mappings {
            for entry in usage.entries where !usage.askedSet.contains(entry.key) {
                if let current = first, (current.mark.line, current.mark.column) <= (entry.keyMark.line, entry.keyMark.column) {
                    continue
                }
                first = (entry.keyMark, path, entry.key, usage.asked)
            }
        }
        guard let first else { return }
        var message = "unknown key"
        if first.key == "<<" {
            message += " (YAML merge keys are not supported)"
        } else if first.known.isEmpty {
            message += " (this mapping takes no keys)"
        } else {
            if let guess = KeySuggestion.closest(to: first.key, among: first.known) {
                message += ", did you mean \"\(guess)\"?"
            }
            message += " (known keys: \(first.known.joined(separator: ", ")))"
        }
        throw YAMLError(
            code: .unknownKey, file: fileName, mark: first.mark,
            path: NodeDecoder.path(first.path, key: first.key), message: message)
    }

    /// Turns whatever a `Decodable` initializer threw into a ``YAMLError``. Errors from our
    /// own containers already are one; a `DecodingError` thrown by a type itself (say, an enum
    /// given an unknown raw value) is placed by walking its coding path through the tree.
    func yamlError(from error: any Error) -> YAMLError {
        if let error = error as? YAMLError { return error }
        guard let error = error as? DecodingError else {
            return YAMLError(code: .invalidValue, file: fileName, mark: nil, path: "", message: "\(error)")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return located(context.codingPath, code: .missingKey, message: "missing required key \"\(key.stringValue)\"")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return located(context.codingPath, code: .typeMismatch, message: context.debugDescription)
        case .dataCorrupted(let context):
            return located(context.codingPath, code: .invalidValue, message: context.debugDescription)
        @unknown default:
            return YAMLError(code: .invalidValue, file: fileName, mark: nil, path: "", message: "\(error)")
        }
    }

    private func located(_ codingPath: [any CodingKey], code: YAMLError.Code, message: String) -> YAMLError {
        var node = root
        var path = ""
        // The deepest node the path reaches gives the position; the path itself is kept whole.
        var reached = true
        for key in codingPath {
            if reached {
                reached = false
                switch node {
                case .mapping(let entries, _):
                    if let entry = entries.first(where: { $0.key == key.stringValue }) {
                        node = entry.value
                        reached = true
                    }
                case .sequence(let items, _):
                    if let index = key.intValue, items.indices.contains(index) {
                        node = items[index]
                        reached = true
                    }
                default:
                    break
                }
            }
            if let index = key.intValue, key is IndexKey {
                path += "[\(index)]"
            } else {
                path = NodeDecoder.path(path, key: key.stringValue)
            }
        }
        return YAMLError(code: code, file: fileName, mark: node.mark, path: path, message: message)
    }
}
