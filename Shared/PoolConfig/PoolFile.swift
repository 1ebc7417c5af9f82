import YAML

/// The pools a deployment runs, read from `pool.yaml` and checked once, at load.
public struct PoolFile: Sendable, Equatable {
    /// The file the pools came from (the file name given to ``parse(_:fileName:)``).
    public let path: String
    /// The pools, in file order, with unique names.
    public let pools: [PoolDefinition]

    /// Creates a pool file from definitions that are already valid (tests, tools).
    public init(path: String, pools: [PoolDefinition]) {
        self.path = path
        self.pools = pools
    }

    /// The pool with this name, if the file defines one.
    public func pool(named name: String) -> PoolDefinition? {
        pools.first { $0.name == name }
    }

    /// Reads and checks a pool file. A missing or unreadable file is an error naming the path.
    public static func load(path: String) throws(ConfigurationError) -> PoolFile {
        let text = try ConfigurationFile.readText(atPath: path)
        return try parse(text, fileName: path)
    }

    /// Parses and checks the text of a pool file.
    ///
    /// - Parameter fileName: how errors name the text, e.g. `pool.yaml`.
    public static func parse(_ text: String, fileName: String) throws(ConfigurationError) -> PoolFile {
        let document: PoolFileDocument
        do {
            document = try YAMLDecoder().decode(PoolFileDocument.self, from: text, fileName: fileName)
        } catch {
            throw ConfigurationError(error)
        }
        return PoolFile(path: fileName, pools: try PoolFileValidator(fileName: fileName).pools(from: document))
    }
}
