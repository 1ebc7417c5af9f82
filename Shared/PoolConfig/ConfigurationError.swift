import YAML

/// A configuration that cannot be used: a bad `pool.yaml`, `.env` line or environment
/// variable. Its one-line description names where and what, so a service can print it and
/// stop: `pool.yaml:12: pools[2].max_agents_per_process: must be at least 1, found -3` or
/// `environment: REDIS_PORT: expected a port number (1-65535), found "abc"`.
///
/// Messages never contain passwords, API keys or URLs with credentials.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem this is; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable {
            case unreadableFile, invalidSyntax, invalidValue
        }
        private let kind: Kind

        /// A file is missing, unreadable or not UTF-8 text.
        public static let unreadableFile = Code(kind: .unreadableFile)
        /// A file's text does not parse (YAML syntax, a `.env` line that is not `KEY=VALUE`).
        public static let invalidSyntax = Code(kind: .invalidSyntax)
        /// A value parses but has the wrong type, is out of range, unknown or contradictory.
        public static let invalidValue = Code(kind: .invalidValue)

        /// The code's name.
        public var description: String { kind.rawValue }
    }

    /// What kind of problem this is.
    public let code: Code
    /// The file name, `environment`, or the `.env` file's path.
    public let source: String
    /// The 1-based line in `source`, when it is a file.
    public let line: Int?
    /// The key path (`pools[2].max_workers`) or variable name (`REDIS_PORT`); empty when
    /// the problem is the whole source.
    public let key: String
    /// What is wrong, in words.
    public let message: String

    /// Creates an error.
    public init(code: Code, source: String, line: Int? = nil, key: String, message: String) {
        self.code = code
        self.source = source
        self.line = line
        self.key = key
        self.message = message
    }

    /// Carries a YAML error over, keeping its file, line and key path.
    init(_ error: YAMLError) {
        self.init(
            code: error.code == .syntax ? .invalidSyntax : .invalidValue,
            source: error.file, line: error.line, key: error.path, message: error.message)
    }

    /// `source:line: key: message`, leaving out the parts that are unknown or empty.
    public var description: String {
        let position = line.map { "\(source):\($0)" } ?? source
        return key.isEmpty ? "\(position): \(message)" : "\(position): \(key): \(message)"
    }
}
