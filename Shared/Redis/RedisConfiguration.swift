/// Where and how to reach one Redis server (hiredis 0.14.1: plain TCP, RESP2, no TLS).
public struct RedisConfiguration: Sendable, Equatable {
    /// Host name or IP address (IPv6 without brackets).
    public var host: String
    /// TCP port.
    public var port: Int
    /// ACL user name (`AUTH user password`); `nil` sends `AUTH password` alone.
    public var username: String?
    /// Password for `AUTH`; `nil` skips `AUTH`.
    public var password: String?
    /// Database index; `SELECT n` is sent on every new connection when it is not 0.
    public var database: Int
    /// How long one TCP connect may take.
    public var connectTimeout: Duration = .seconds(2)
    /// How long one command (send plus reply) may take before the connection is dropped.
    ///
    /// Blocking commands such as `BLPOP` must block for less than this (and belong on a
    /// ``RedisBlockingConnection``: on a ``RedisClient`` connection they hold up the commands
    /// pipelined behind them). A deadline timer on the event loop enforces it, so it also
    /// bounds a server that froze.
    public var commandTimeout: Duration = .seconds(5)
    /// No longer used by ``RedisClient``: its callers share pipelined connections and never
    /// wait for one to become free, so `commandTimeout` alone bounds a call. Kept (and still
    /// read from `REDIS_POOL_TIMEOUT`) so that settings and callers need not change.
    public var poolTimeout: Duration = .seconds(5)
    /// A subscriber that heard nothing for this long sends `PING` on its connection, so that a
    /// quiet channel still proves the connection alive.
    public var subscriberPingInterval: Duration = .seconds(1)
    /// A subscriber that heard nothing (no message, no `PING` answer) for this long drops its
    /// connection and subscribes again; a few ping intervals.
    public var subscriberReadTimeout: Duration = .seconds(3)

    /// Creates a configuration from its parts.
    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil,
        password: String? = nil, database: Int = 0
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// The URL with the password replaced by `***`, safe for logs and error messages.
    public var redactedDescription: String {
        var userInfo = ""
        if password != nil {
            userInfo = "\(username ?? ""):***@"
        } else if let username {
            userInfo = "\(username)@"
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "redis://\(userInfo)\(hostPart):\(port)/\(database)"
    }
}
