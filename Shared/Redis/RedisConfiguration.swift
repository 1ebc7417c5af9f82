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
    /// Blocking commands such as `BLPOP` must block for less than this. Enforced by the
    /// socket's send and receive timeouts, so it also bounds a server that froze.
    public var commandTimeout: Duration = .seconds(5)
    /// How long a command may wait for a pooled connection while all are busy; it then fails
    /// with `.poolTimeout` and was not sent.
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
