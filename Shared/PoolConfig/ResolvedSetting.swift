import YAML

/// A pool's setting after defaults were applied, remembering where its value came from so
/// that an error can point at the line that set it.
struct ResolvedSetting<Value> {
    /// Where the value came from.
    enum Source {
        case pool, defaults, builtIn
    }

    let value: Value
    let source: Source
    /// The key path that set the value; for a built-in default, the pool's own key path.
    let path: String
    /// Where the value was written; for a built-in default, where the pool entry starts.
    let mark: YAMLMark

    /// The pool's own value if it set one, else the `defaults:` value, else the built-in one.
    init(
        pool: YAMLLocated<Value>?, defaults: YAMLLocated<Value>?, builtIn: Value,
        key: String, entry: YAMLLocated<PoolEntryDocument>
    ) {
        if let pool {
            (value, source, path, mark) = (pool.value, .pool, pool.path, pool.mark)
        } else if let defaults {
            (value, source, path, mark) = (defaults.value, .defaults, defaults.path, defaults.mark)
        } else {
            (value, source, path, mark) = (builtIn, .builtIn, entry.path + "." + key, entry.mark)
        }
    }

    /// Says where the value came from, for messages about another key: " on line 9",
    /// " from defaults, line 3" or " by default".
    var originNote: String {
        switch source {
        case .pool: return " on line \(mark.line)"
        case .defaults: return " from defaults, line \(mark.line)"
        case .builtIn: return " by default"
        }
    }
}
