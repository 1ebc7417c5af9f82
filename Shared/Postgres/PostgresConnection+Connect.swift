import CLibPQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension PostgresConnection {
    /// Opens a connection without blocking a thread: `PQconnectStartParams`, then
    /// `PQconnectPoll` whenever the poller says the socket is ready, all bounded by
    /// `connectTimeoutSeconds` (libpq's own `connect_timeout` only applies to its blocking
    /// calls). Host names are resolved inside `PQconnectStartParams`, synchronously; AgentPool
    /// connects to loopback or a name in /etc/hosts, where that costs nothing.
    static func connect(_ configuration: PostgresConfiguration, poller: PostgresPoller) async throws(PostgresError)
        -> PostgresConnection
    {
        let parameters = configuration.libpqParameters
        let keywords = parameters.map { UnsafePointer(strdup($0.keyword)) } + [nil]
        let values = parameters.map { UnsafePointer(strdup($0.value)) } + [nil]
        // expand_dbname = 0: a database name is only a name, never a connection string.
        let started = PQconnectStartParams(keywords, values, 0)
        for pointer in keywords + values { free(UnsafeMutablePointer(mutating: pointer)) }
        guard let handle = started else {
            throw PostgresError(code: .connection, message: "libpq could not allocate a connection.")
        }
        let connection = PostgresConnection(
            handle: handle, poller: poller, password: configuration.password, queryTimeout: configuration.queryTimeout)
        do throws(PostgresError) {
            try await connection.handshake(handle, poller: poller, timeoutSeconds: configuration.connectTimeoutSeconds)
            // Statements then never block inside libpq; the poller does the waiting.
            guard PQsetnonblocking(handle, 1) == 0 else {
                throw PostgresError(code: .connection, message: connection.libpqMessage())
            }
            // Notices (for example "relation already exists, skipping") would go to stderr.
            PQsetNoticeProcessor(handle, { _, _ in }, nil)
            try connection.watchSocket()
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// Drives `PQconnectPoll` to the end. libpq may close its socket and open another while
    /// it tries the next address, so each wait watches the socket of that moment only.
    private func handshake(_ handle: OpaquePointer, poller: PostgresPoller, timeoutSeconds: Int) async throws(PostgresError) {
        guard PQstatus(handle) != CONNECTION_BAD else {
            throw PostgresError(code: .connection, message: libpqMessage())
        }
        // connect_timeout=0 means no limit, as in libpq.
        let limit: Duration = timeoutSeconds > 0 ? .seconds(timeoutSeconds) : .seconds(100 * 365 * 86_400)
        let deadline = ContinuousClock.now + limit
        // libpq's rule: start as if PQconnectPoll had asked to wait for writing.
        var polling = PGRES_POLLING_WRITING
        while polling != PGRES_POLLING_OK {
            guard polling == PGRES_POLLING_READING || polling == PGRES_POLLING_WRITING else {
                throw PostgresError(code: .connection, message: libpqMessage())
            }
            let socket = PQsocket(handle)
            guard socket >= 0 else { throw PostgresError(code: .connection, message: libpqMessage()) }
            let registration = try poller.register(socket)
            let events: PollerEvents = polling == PGRES_POLLING_READING ? .readable : .writable
            let outcome = await poller.wait(registration, for: events, until: deadline)
            poller.unregister(registration)
            switch outcome {
            case .ready:
                polling = PQconnectPoll(handle)
            case .timedOut:
                throw PostgresError(
                    code: .connection,
                    message: "PostgreSQL (or PgBouncer) did not complete the connection within the connect timeout "
                        + "of \(timeoutSeconds) s (connect_timeout); check that it runs and responds.")
            case .cancelled:
                throw PostgresError(code: .cancelled, message: "Cancelled while connecting.")
            case .closed:
                throw PostgresError(code: .connection, message: "The socket closed while connecting.")
            }
        }
    }
}
