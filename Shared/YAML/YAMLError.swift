/// A YAML text that could not be read into the requested type: a syntax error, a value of
/// the wrong type, a missing or unknown key. It names the file, the position and the key
/// path, e.g. `pool.yaml:12:5: pools[2].max_agents_per_process: expected an integer, found "abc"`.
public struct YAMLError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem this is; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable {
            case syntax, typeMismatch, missingKey, unknownKey, duplicateKey, invalidValue, unsupported
        }
        private let kind: Kind

        /// libyaml rejected the text.
        public static let syntax = Code(kind: .syntax)
        /// A node has the wrong shape or a scalar does not read as the requested type.
        public static let typeMismatch = Code(kind: .typeMismatch)
        /// A required key is absent.
        public static let missingKey = Code(kind: .missingKey)
        /// A mapping holds a key that the type does not know.
        public static let unknownKey = Code(kind: .unknownKey)
        /// A mapping holds the same key twice.
        public static let duplicateKey = Code(kind: .duplicateKey)
        /// A value has the right shape but is not acceptable.
        public static let invalidValue = Code(kind: .invalidValue)
        /// A YAML feature this reader does not support (recursive aliases, complex keys, several documents).
        public static let unsupported = Code(kind: .unsupported)

        /// The code's name.
        public var description: String { kind.rawValue }
    }

    /// What kind of problem this is.
    public let code: Code
    /// The file name given to the decoder.
    public let file: String
    /// The 1-based line of the offending node, when known.
    public let line: Int?
    /// The 1-based column of the offending node, when known.
    public let column: Int?
    /// The key path, e.g. `pools[2].max_agents_per_process`; empty for the root.
    public let path: String
    /// What is wrong, in words.
    public let message: String

    /// Creates an error.
    public init(code: Code, file: String, mark: YAMLMark?, path: String, message: String) {
        self.code = code
        self.file = file
        self.line = mark?.line
        self.column = mark?.column
        self.path = path
        self.message = message
    }

    /// `file:line:column: path: message`, leaving out the parts that are unknown or empty.
    public var description: String {
        var position = file
        if let line {
            position += ":\(line)"
            if let column { position += ":\(column)" }
        }
        return path.isEmpty ? "\(position): \(message)" : "\(position): \(path): \(message)"
    }
}
