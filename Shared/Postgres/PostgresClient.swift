import Logging
import NIOPosix

/// A small pool of libpq connections, safe to share across tasks.
///
/// libpq blocks its thread, so every call runs on the client's own `NIOThreadPool`, one
/// thread per connection, never on Swift's cooperative pool. Connections open lazily up to
/// `poolSize`; callers beyond that wait without holding a thread. A connection that breaks
/// is closed and replaced on next use, so a PostgreSQL or PgBouncer restart heals by itself;
/// statements are never retried, since one that failed may still have run.
public final class PostgresClient: Sendable {
    let configuration: PostgresConfiguration
    let logger: Logger
    private let pool: ConnectionPool
    private let threads: NIOThreadPool

    /// Makes the client and starts its threads; no connection opens until the first call.
    /// Call `close()` before letting go of the client: it owns threads.
    public init(configuration: PostgresConfiguration, poolSize: Int = 3, logger: Logger) {
        precondition(poolSize >= 1, "poolSize must be at least 1")
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "postgres.target"] = "\(configuration.host):\(configuration.port)/\(configuration.database)"
        self.logger = logger
        self.pool = ConnectionPool(capacity: poolSize, waitTimeout: configuration.poolTimeout)
        self.threads = NIOThreadPool(numberOfThreads: poolSize)
        threads.start()
    }

    /// Runs one statement on a pooled connection (see `PostgresConnection.query`).
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) async throws(PostgresError) -> PostgresResult {
        do {
            return try await withConnection { connection in try connection.query(sql, parameters) }
        } catch let error as PostgresError {
            throw error
        } catch {
            // Not reached: the body and withConnection's own failures are all PostgresError.
            throw PostgresError(code: .connection, message: "Unexpected error: \(error)")
        }
    }

    /// Lends a connection to `body` on one of the client's threads and takes it back after.
    ///
    /// `body` may block (it runs libpq calls) and must not keep the connection. A transaction
    /// that `body` leaves open is rolled back before the connection is reused.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        do {
            return try await lend(body)
        } catch let error as PostgresError {
            throw error.counted()
        }
    }

    private func lend<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let lease = try await pool.acquire()
        let started = Locked(false)
        do {
            return try await threads.runIfActive { [self] in
                started.withLock { $0 = true }
                return try lend(lease, to: body)
            }
        } catch {
            // The work never ran (cancelled while queued, or the client closed): the lease
            // is untouched, so give it back as it was.
            guard !started.withLock({ $0 }) else { throw error }
            giveBackUnused(lease)
            if error is CancellationError {
                throw PostgresError(code: .cancelled, message: "Cancelled before the statement was sent.")
            }
            throw PostgresError(code: .shutdown, message: "The PostgreSQL client is closed.")
        }
    }

    /// BEGIN … COMMIT on one connection; ROLLBACK and rethrow when body throws.
    ///
    /// A statement that failed inside `body` aborts the transaction even if `body` caught
    /// the error; COMMIT would then silently roll back, so this throws instead.
    public func withTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let begin = Self.beginStatement(queryTimeout: configuration.queryTimeout)
        return try await withConnection { connection in
            try connection.execute(script: begin)
            let value: T
            do {
                value = try body(connection)
            } catch {
                _ = try? connection.query("ROLLBACK")
                throw error
            }
            if connection.isInFailedTransaction {
                _ = try? connection.query("ROLLBACK")
                throw PostgresError(
                    code: .server, message: "The transaction was rolled back because a statement in it failed.",
                    sqlState: "25P02")
            }
            try connection.query("COMMIT")
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

    /// Closes every connection and stops the threads. Waiting callers fail with
    /// `.shutdown`; running calls finish first. Call it once, when the process shuts down.
    public func close() async {
        let idle = pool.close()
        _ = try? await threads.runIfActive {
            for pooled in idle { pooled.connection.close() }
        }
        do {
            try await threads.shutdownGracefully()
        } catch {
            logger.debug("PostgreSQL thread pool was already stopped", metadata: ["error": "\(error)"])
        }
        logger.debug("PostgreSQL client closed")
    }

    /// Runs on a pool thread: gets a usable connection for the lease, runs `body`, gives the
    /// connection back (or closes it when it is broken).
    private func lend<T>(_ lease: ConnectionPool.Lease, to body: (PostgresConnection) throws -> T) throws -> T {
        let connection: PostgresConnection
        switch lease {
        case .reuse(let pooled) where pooled.connection.isHealthyAfterIdle():
            connection = pooled.connection
        case .reuse(let pooled):
            logger.info("Replacing a PostgreSQL connection the server closed while it was idle")
            pooled.connection.close()
            connection = try open()
        case .open:
            connection = try open()
        }
        defer { giveBack(connection) }
        return try body(connection)
    }

    /// Opens a connection for a slot already reserved; frees the slot when that fails.
    private func open() throws(PostgresError) -> PostgresConnection {
        do {
            let connection = try PostgresConnection.connect(configuration)
            pool.recordConnect(failure: nil)
            logger.debug("Opened a PostgreSQL connection")
            return connection
        } catch {
            pool.recordConnect(failure: error)
            pool.releaseSlot()
            logger.warning("Could not connect to PostgreSQL", metadata: ["error": "\(error.message)"])
            throw error
        }
    }

    /// Returns a connection after a lease; a broken one, or one stuck mid-transaction, is
    /// closed so the next lease opens a fresh one.
    private func giveBack(_ connection: PostgresConnection) {
        if connection.isInTransaction {
            logger.warning("A PostgreSQL connection came back inside a transaction; rolling it back")
            _ = try? connection.query("ROLLBACK")
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

    /// Gives back a lease whose work never ran, so its connection was not touched.
    private func giveBackUnused(_ lease: ConnectionPool.Lease) {
        switch lease {
        case .reuse(let pooled):
            // Only after close(): the threads are gone, so PQfinish runs here; it sends
            // one small message and does not wait for an answer.
            if !pool.release(pooled) { pooled.connection.close() }
        case .open:
            pool.releaseSlot()
        }
    }
}
