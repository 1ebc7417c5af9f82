/// One schema change, applied once per database and recorded in `schema_migrations`.
public struct PostgresMigration: Sendable {
    /// Its place in the order; each version is applied at most once.
    public let version: Int
    /// A short name for logs and for the `schema_migrations` row.
    public let name: String
    /// Parameterless SQL, possibly several statements. It runs inside a transaction, so it
    /// must not hold BEGIN/COMMIT or statements that refuse transactions
    /// (CREATE INDEX CONCURRENTLY, VACUUM).
    public let sql: String

    /// Makes a migration.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}
