import YAML

/// A `runtime:` mapping exactly as written, before checks. Only the keys of the kind it
/// names are read, so a key of another kind (`url` under `kind: exec`) is reported as
/// unknown, with the keys that kind does take.
struct RuntimeDocument: Decodable {
    var kind: YAMLLocated<String>
    /// builtin
    var name: YAMLLocated<String>?
    /// exec
    var command: YAMLLocated<[YAMLLocated<String>]>?
    var workingDir: YAMLLocated<String>?
    var env: YAMLLocated<[String: YAMLLocated<String>]>?
    var envFrom: YAMLLocated<[YAMLLocated<String>]>?
    var startTimeout: YAMLLocated<Double>?
    /// http
    var url: YAMLLocated<String>?

    /// The kinds a `runtime:` may name, in the order messages list them.
    static let kinds = ["builtin", "exec", "http"]

    private enum CodingKeys: String, CodingKey {
        case kind, name, command, url, env
        case workingDir = "working_dir"
        case envFrom = "env_from"
        case startTimeout = "start_timeout"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(YAMLLocated<String>.self, forKey: .kind)
        let known = Self.kinds.contains(kind.value)
        // An unknown kind reads every key, so that the error names the kind, not its keys.
        if kind.value == "builtin" || !known {
            name = try container.decodeIfPresent(YAMLLocated<String>.self, forKey: .name)
        }
        if kind.value == "exec" || !known {
            command = try container.decodeIfPresent(YAMLLocated<[YAMLLocated<String>]>.self, forKey: .command)
            workingDir = try container.decodeIfPresent(YAMLLocated<String>.self, forKey: .workingDir)
            env = try container.decodeIfPresent(YAMLLocated<[String: YAMLLocated<String>]>.self, forKey: .env)
            envFrom = try container.decodeIfPresent(YAMLLocated<[YAMLLocated<String>]>.self, forKey: .envFrom)
            startTimeout = try container.decodeIfPresent(YAMLLocated<Double>.self, forKey: .startTimeout)
        }
        if kind.value == "http" || !known {
            url = try container.decodeIfPresent(YAMLLocated<String>.self, forKey: .url)
        }
    }
}
