import Logging

/// Applies schema migrations exactly once, even when several processes start together.
///
/// Each migration runs in its own transaction that first takes a transaction-scoped
/// advisory lock (`pg_advisory_xact_lock`) and then re-checks `schema_migrations`. The lock
/// is released by COMMIT or ROLLBACK, so it never outlives the transaction: that is what
/// makes it safe behind PgBouncer's transaction pooling, where session locks would stay on
/// a server connection another client gets next.
public struct PostgresMigrator: Sendable {
    /// The advisory lock key every AgentPool migrator uses ("AgPlMigr" as a 64-bit number).
    static let lockKey = 4_712_823_961_151_956_850

    private let client: PostgresClient
    private let logger: Logger

    /// Makes a migrator that works through `client`.
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Applies the migrations not yet recorded in table schema_migrations(version int primary
    /// key, name text not null, applied_at timestamptz not null default now()), each in its
    /// own transaction that first takes pg_advisory_xact_lock(<a fixed 64-bit key>) —
    /// transaction-scoped, so it works through PgBouncer — and re-checks the table under the
    /// lock, so concurrent starters apply each migration exactly once. Returns the versions
    /// this call applied.
    public func apply(_ migrations: [PostgresMigration]) async throws -> [Int] {
        let ordered = migrations.sorted { $0.version < $1.version }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where previous.version == next.version {
            throw PostgresError(
                code: .configuration, message: "Two migrations share version \(next.version).")
        }

        // The common case, a database already up to date, costs one statement and no lock:
        // every worker checks at start, and a worker's start-up is on the autoscale path.
        if let recorded = try await recordedVersions(), ordered.allSatisfy({ recorded.contains($0.version) }) {
            return []
        }

        let recorded = try await client.withTransaction { connection in
            try await Self.lock(connection)
            // Under the lock, so two starters never race on creating the table.
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version int PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            return try await Set(connection.query("SELECT version FROM schema_migrations").rows.map {
                try $0.decode("version", as: Int.self)
            })
        }

        var applied: [Int] = []
        for migration in ordered where !recorded.contains(migration.version) {
            let didApply: Bool
            do {
                didApply = try await apply(migration)
            } catch {
                logger.error(
                    "Database migration failed",
                    metadata: [
                        "migration.version": "\(migration.version)", "migration.name": "\(migration.name)",
                        "error": "\(error)",
                    ])
                throw error
            }
            if didApply {
                applied.append(migration.version)
                logger.info(
                    "Applied database migration",
                    metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
            }
        }
        return applied
    }

    /// Applies one migration unless another starter already did; true when this call did.
    private func apply(_ migration: PostgresMigration) async throws -> Bool {
        try await client.withTransaction { connection in
            try await Self.lock(connection)
            // Another starter may have applied it while we waited for the lock.
            let present = try await connection.query(
                "SELECT 1 FROM schema_migrations WHERE version = $1", [migration.version])
            guard present.rows.isEmpty else { return false }
            try await connection.execute(script: migration.sql)
            try await connection.query(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                [migration.version, migration.name])
            return true
        }
    }

    /// The versions recorded so far, or nil when `schema_migrations` does not exist yet.
    private func recordedVersions() async throws -> Set<Int>? {
        do {
            let rows = try await client.query("SELECT version FROM schema_migrations").rows
            return try Set(rows.map { try $0.decode("version", as: Int.self) })
        } catch let error as PostgresError where error.sqlState == "42P01" {  // undefined_table
            return nil
        }
    }

    /// Takes the migration lock until the current transaction ends.
    private static func lock(_ connection: PostgresConnection) async throws(PostgresError) {
        try await connection.query("SELECT pg_advisory_xact_lock($1::bigint)", [lockKey])
    }
}
