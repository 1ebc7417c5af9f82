import CYAML

/// One parsed YAML document, turned into a ``YAMLNode`` tree while libyaml's handles are alive.
///
/// Aliases are supported: an alias reads as a copy of its anchored node (and carries that
/// node's position). An alias that refers to the node containing it would make an endless
/// tree and is rejected.
struct YAMLDocument {
    /// Deeper nesting than this is surely a mistake, and would risk the stack.
    static let maximumDepth = 200

    let fileName: String
    let root: YAMLNode

    init(text: String, fileName: String) throws(YAMLError) {
        self.fileName = fileName
        let handles = LibYAMLHandles(text: text)
        guard handles.loadDocument() else { throw Self.syntaxError(handles, fileName: fileName) }
        guard let rootNode = yaml_document_get_root_node(handles.document) else {
            // An empty file configures nothing: it reads as an empty mapping.
            root = .mapping([], YAMLMark(line: 1, column: 1))
            return
        }
        guard handles.loadExtraDocument() else { throw Self.syntaxError(handles, fileName: fileName) }
        if let extra = yaml_document_get_root_node(handles.extraDocument) {
            throw YAMLError(
                code: .unsupported, file: fileName, mark: Self.mark(extra.pointee.start_mark), path: "",
                message: "expected a single YAML document, found a second one")
        }
        var converter = Converter(document: handles.document, fileName: fileName)
        let rootIndex = Int32(rootNode - handles.document.pointee.nodes.start) + 1
        root = try converter.convert(index: rootIndex, path: "", depth: 0)
    }

    static func mark(_ mark: yaml_mark_t) -> YAMLMark {
        YAMLMark(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    /// Describes libyaml's failure with its own problem text and position.
    private static func syntaxError(_ handles: LibYAMLHandles, fileName: String) -> YAMLError {
        let parser = handles.parser.pointee
        var message: String
        var position: YAMLMark?
        switch parser.error {
        case YAML_MEMORY_ERROR:
            message = "out of memory while parsing"
        case YAML_READER_ERROR:
            // The reader reports a byte offset, not a mark.
            message = "cannot read the text: " + text(parser.problem, or: "invalid input")
            position = markAt(offset: parser.problem_offset, in: handles.inputBytes)
        case YAML_NO_ERROR:
            message = "cannot start the YAML parser"
        default:
            message = "syntax error: " + text(parser.problem, or: "invalid YAML")
            position = mark(parser.problem_mark)
            if let context = parser.context {
                let contextMark = mark(parser.context_mark)
                message += " (\(String(cString: context)) at line \(contextMark.line), column \(contextMark.column))"
            }
        }
        return YAMLError(code: .syntax, file: fileName, mark: position, path: "", message: message)
    }

    private static func text(_ pointer: UnsafePointer<CChar>?, or fallback: String) -> String {
        pointer.map { String(cString: $0) } ?? fallback
    }

    private static func markAt(offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> YAMLMark {
        var line = 1
        var column = 1
        for byte in bytes.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {  // count characters, not UTF-8 continuation bytes
                column += 1
            }
        }
        return YAMLMark(line: line, column: column)
    }
}

extension YAMLDocument {
    /// Walks libyaml's node table (1-based indices) into ``YAMLNode`` values.
    private struct Converter {
        let document: UnsafeMutablePointer<yaml_document_t>
        let fileName: String
        /// Nodes already converted: an alias reuses the result instead of converting again,
        /// so nested aliases cannot blow up the work.
        var converted: [Int32: YAMLNode] = [:]
        /// Nodes being converted right now: meeting one again means a recursive alias.
        var inProgress: Set<Int32> = []

        mutating func convert(index: Int32, path: String, depth: Int) throws(YAMLError) -> YAMLNode {
            if let done = converted[index] { return done }
            guard let node = yaml_document_get_node(document, index) else {
                throw YAMLError(code: .syntax, file: fileName, mark: nil, path: path, message: "broken node reference")
            }
            let mark = YAMLDocument.mark(node.pointee.start_mark)
            guard !inProgress.contains(index) else {
                throw YAMLError(
                    code: .unsupported, file: fileName, mark: mark, path: path,
                    message: "recursive alias: the anchored node contains itself")
            }
            guard depth <= YAMLDocument.maximumDepth else {
                throw YAMLError(
                    code: .unsupported, file: fileName, mark: mark, path: path,
                    message: "nesting deeper than \(YAMLDocument.maximumDepth) levels")
            }
            inProgress.insert(index)
            defer { inProgress.remove(index) }

            let result: YAMLNode
            switch node.pointee.type {
            case YAML_SCALAR_NODE:
                result = Self.scalar(node.pointee, mark: mark)
            case YAML_SEQUENCE_NODE:
                var items: [YAMLNode] = []
                var item = node.pointee.data.sequence.items.start
                while let current = item, current != node.pointee.data.sequence.items.top {
                    items.append(try convert(index: current.pointee, path: path + "[\(items.count)]", depth: depth + 1))
                    item = current + 1
                }
                result = .sequence(items, mark)
            case YAML_MAPPING_NODE:
                result = try mapping(node.pointee, mark: mark, path: path, depth: depth)
            default:
                result = .null(mark)
            }
            converted[index] = result
            return result
        }

        private mutating func mapping(
            _ node: yaml_node_t, mark: YAMLMark, path: String, depth: Int
        ) throws(YAMLError) -> YAMLNode {
            var entries: [(key: String, keyMark: YAMLMark, value: YAMLNode)] = []
            var firstLine: [String: Int] = [:]
            var pair = node.data.mapping.pairs.start
            while let current = pair, current != node.data.mapping.pairs.top {
                pair = current + 1
                guard let keyNode = yaml_document_get_node(document, current.pointee.key) else { continue }
                let keyMark = YAMLDocument.mark(keyNode.pointee.start_mark)
                guard keyNode.pointee.type == YAML_SCALAR_NODE else {
                    throw YAMLError(
                        code: .unsupported, file: fileName, mark: keyMark, path: path,
                        message: "mapping keys must be plain text, found a \(keyNode.pointee.type == YAML_SEQUENCE_NODE ? "sequence" : "mapping")")
                }
                let scalar = keyNode.pointee.data.scalar
                let key = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                let keyPath = path.isEmpty ? key : path + "." + key
                if let line = firstLine[key] {
                    throw YAMLError(
                        code: .duplicateKey, file: fileName, mark: keyMark, path: keyPath,
                        message: "duplicate key (first given on line \(line))")
                }
                firstLine[key] = keyMark.line
                let value = try convert(index: current.pointee.value, path: keyPath, depth: depth + 1)
                entries.append((key: key, keyMark: keyMark, value: value))
            }
            return .mapping(entries, mark)
        }

        private static func scalar(_ node: yaml_node_t, mark: YAMLMark) -> YAMLNode {
            let scalar = node.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            if scalar.style == YAML_PLAIN_SCALAR_STYLE, ["", "~", "null", "Null", "NULL"].contains(text) {
                return .null(mark)
            }
            return .scalar(text, mark)
        }
    }
}
