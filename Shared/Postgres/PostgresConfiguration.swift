/// Where and how to reach PostgreSQL (directly or through PgBouncer).
///
/// Printing a configuration shows `redactedDescription`, so the password never reaches a log
/// by accident.
public struct PostgresConfiguration: Sendable, Equatable {
    /// Host name or IP address (or a Unix socket folder, as libpq allows).
    public var host: String
    /// TCP port; 5432 for PostgreSQL, usually 6432 for PgBouncer.
    public var port: Int
    /// The role to log in as.
    public var user: String
    /// The role's password, or nil to let libpq find none (or use ~/.pgpass).
    public var password: String?
    /// The database name (for PgBouncer: the name in its `[databases]` section).
    public var database: String
    /// How long one connection attempt may take, in seconds (libpq's `connect_timeout`).
    public var connectTimeoutSeconds: Int
    /// Shown in `pg_stat_activity`; PgBouncer passes it on.
    public var applicationName: String
    /// How long one statement may take, from sending it to its last result, before the
    /// client gives up on it and closes the connection (`DB_QUERY_TIMEOUT`).
    ///
    /// Enforced by the client, because a frozen server (or PgBouncer) never answers anything;
    /// inside `withTransaction` the server also gets it as `SET LOCAL statement_timeout`.
    public var queryTimeout: Duration = .seconds(5)
    /// How long a call may wait for a pooled connection while all of them are busy
    /// (`DB_POOL_TIMEOUT`); the call then fails with `.poolTimeout` and nothing was sent.
    public var poolTimeout: Duration = .seconds(5)

    /// Makes a configuration; the timeout and application name keep their defaults.
    public init(
        host: String = "localhost", port: Int = 5432, user: String = "agentpool",
        password: String? = nil, database: String = "agentpool"
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeoutSeconds = 5
        self.applicationName = "agentpool"
    }

    /// The configuration as a `postgresql://` URL with the password shown as `***`.
    public var redactedDescription: String {
        let credentials = password == nil ? user : "\(user):***"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(credentials)@\(hostPart):\(port)/\(database)"
    }

    /// The keyword/value pairs handed to `PQconnectdbParams`; values are never spliced into a
    /// connection string, so no quoting or escaping can go wrong.
    var libpqParameters: [(keyword: String, value: String)] {
        var parameters: [(keyword: String, value: String)] = [
            ("host", host),
            ("port", String(port)),
            ("user", user),
            ("dbname", database),
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("application_name", applicationName),
        ]
        if let password {
            parameters.append(("password", password))
        }
        return parameters
    }
}

extension PostgresConfiguration: CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// Same as `redactedDescription`.
    public var description: String { redactedDescription }
    /// Same as `redactedDescription`.
    public var debugDescription: String { redactedDescription }
    /// A mirror without the password, so `dump()` cannot leak it either.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": host, "port": port, "user": user,
                "password": password == nil ? "nil" : "***", "database": database,
                "connectTimeoutSeconds": connectTimeoutSeconds, "applicationName": applicationName,
                "queryTimeout": queryTimeout, "poolTimeout": poolTimeout,
            ])
    }
}
