import Logging

/// A small pool of libpq connections, safe to share across tasks.
///
/// The connections run in libpq's non-blocking mode on the caller's own task; whenever one
/// must wait for PostgreSQL, the task suspends on the process's one `PostgresPoller`, so no
/// thread is held or handed work per statement. Connections open lazily up to `poolSize`;
/// callers beyond that wait without holding a thread. A connection that breaks is closed and
/// replaced on next use, so a PostgreSQL or PgBouncer restart heals by itself; statements are
/// never retried, since one that failed may still have run.
public final class PostgresClient: Sendable {
    let configuration: PostgresConfiguration
    let logger: Logger
    private let pool: ConnectionPool
    private let poller: PostgresPoller

    /// Makes the client; no connection opens until the first call. Call `close()` (or run it
    /// as a `Service`) before letting go of the client, so that its connections close.
    public init(configuration: PostgresConfiguration, poolSize: Int = 3, logger: Logger) {
        precondition(poolSize >= 1, "poolSize must be at least 1")
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "postgres.target"] = "\(configuration.host):\(configuration.port)/\(configuration.database)"
        self.logger = logger
        self.pool = ConnectionPool(capacity: poolSize, waitTimeout: configuration.poolTimeout)
        self.poller = .shared
    }

    /// Runs one statement on a pooled connection (see `PostgresConnection.query`).
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) async throws(PostgresError) -> PostgresResult {
        do {
            return try await withConnection { connection in try await connection.query(sql, parameters) }
        } catch let error as PostgresError {
            throw error
        } catch {
            // Not reached: the body and withConnection's own failures are all PostgresError.
            throw PostgresError(code: .connection, message: "Unexpected error: \(error)")
        }
    }

    /// Lends a connection to `body` and takes it back after.
    ///
    /// `body` runs on the caller's task and must not keep the connection. A transaction that
    /// `body` leaves open is rolled back before the connection is reused.
    public func withConnection<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await lend(body)
        } catch let error as PostgresError {
            throw error.counted()
        }
    }

    /// Gets a usable connection for a lease, runs `body`, gives the connection back (or
    /// closes it when it is broken), whatever `body` did.
    private func lend<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let lease = try await pool.acquire()
        let connection: PostgresConnection
        switch lease {
        case .reuse(let pooled) where pooled.connection.isHealthyAfterIdle():
            connection = pooled.connection
        case .reuse(let pooled):
            logger.info("Replacing a PostgreSQL connection the server closed while it was idle")
            pooled.connection.close()
            connection = try await open()
        case .open:
            connection = try await open()
        }
        let value: T
        do {
            value = try await body(connection)
        } catch {
            await giveBack(connection)
            throw error
        }
        await giveBack(connection)
        return value
    }

    /// BEGIN … COMMIT on one connection; ROLLBACK and rethrow when body throws.
    ///
    /// A statement that failed inside `body` aborts the transaction even if `body` caught
    /// the error; COMMIT would then silently roll back, so this throws instead.
    public func withTransaction<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let begin = Self.beginStatement(queryTimeout: configuration.queryTimeout)
        return try await withConnection { connection in
            try await connection.execute(script: begin)
            let value: T
            do {
                value = try await body(connection)
            } catch {
                // A ROLLBACK that fails leaves the connection outside `isIdle`, so `giveBack`
                // closes it; the body's error is the one to report.
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
            if connection.isInFailedTransaction {
                _ = try? await connection.query("ROLLBACK")
                throw PostgresError(
                    code: .server, message: "The transaction was rolled back because a statement in it failed.",
                    sqlState: "25P02")
            }
            try await connection.query("COMMIT")
            return value
        }
    }

    /// BEGIN plus a server-side deadline for the transaction's statements, in one round trip.
    ///
    /// The client's own deadline (`queryTimeout`) ends the wait, but not the work of a server
    /// that is alive yet slow (a lock wait): `SET LOCAL statement_timeout` lets PostgreSQL end
    /// that itself, with a clean error that keeps the connection. It is a little shorter than
    /// the client's deadline so that the server's error arrives first. `SET LOCAL` is the only
    /// form PgBouncer's transaction pooling allows (a session `SET` would leak to other
    /// clients; startup options are refused). Statements outside a transaction rely on the
    /// client's deadline alone.
    static func beginStatement(queryTimeout: Duration) -> String {
        let milliseconds = max(1, Int((queryTimeout / .milliseconds(1) * 0.9).rounded(.down)))
        return "BEGIN; SET LOCAL statement_timeout = \(milliseconds)"
    }

    /// Closes every connection. Waiting callers fail with `.shutdown`; calls that hold a
    /// connection finish first (each statement is bounded by the query timeout), and this
    /// returns once their connections are closed too. Call it once, when the process shuts
    /// down (running the client as a `Service` does).
    public func close() async {
        for pooled in pool.close() { pooled.connection.close() }
        await pool.drained()
        logger.debug("PostgreSQL client closed")
    }

    /// Opens a connection for a slot already reserved; frees the slot when that fails.
    private func open() async throws(PostgresError) -> PostgresConnection {
        do {
            let connection = try await PostgresConnection.connect(configuration, poller: poller)
            pool.recordConnect(failure: nil)
            logger.debug("Opened a PostgreSQL connection")
            return connection
        } catch {
            // A cancelled caller says nothing about the database: no backoff for it.
            if error.code != .cancelled { pool.recordConnect(failure: error) }
            pool.releaseSlot()
            if error.code != .cancelled {
                logger.warning("Could not connect to PostgreSQL", metadata: ["error": "\(error.message)"])
            }
            throw error
        }
    }

    /// Returns a connection after a lease; a broken one, or one stuck mid-transaction, is
    /// closed so the next lease opens a fresh one.
    private func giveBack(_ connection: PostgresConnection) async {
        if connection.isInTransaction {
            logger.warning("A PostgreSQL connection came back inside a transaction; rolling it back")
            _ = try? await connection.query("ROLLBACK")
        }
        guard connection.isIdle else {
            logger.info("Closing a broken PostgreSQL connection; the next call opens a new one")
            connection.close()
            pool.releaseSlot()
            return
        }
        if !pool.release(PooledConnection(connection: connection)) {
            connection.close()
        }
    }
}
