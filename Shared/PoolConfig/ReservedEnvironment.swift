/// The environment variables that are AgentPool's own settings and secrets (see
/// `Settings+Environment.swift` and `Settings+Deadlines.swift`). An agent's code is the
/// user's, so none of these may reach it: naming one in a runtime's `env` or `env_from` is a
/// configuration error, and the exec runtime never copies one either.
public enum ReservedEnvironment {
    /// Whole families: every `REDIS_*` and `POSTGRES_*` setting, libpq's own `PG*` variables
    /// (`PGPASSWORD`, ... and `PGBOUNCER_URL`), the database pool's and the gateway's.
    public static let prefixes = ["REDIS_", "POSTGRES_", "PG", "DB_", "GATEWAY_"]
    /// Single settings outside those families.
    public static let names: Set<String> = [
        "API_KEYS", "SPAWN_TIMEOUT", "METRICS_PORT", "MANAGER_METRICS_PORT", "POOL_CONFIG",
        "LOG_LEVEL", "LOG_FORMAT",
    ]

    /// Whether `name` is one of AgentPool's own settings.
    public static func contains(_ name: String) -> Bool {
        names.contains(name) || prefixes.contains { name.hasPrefix($0) }
    }
}
