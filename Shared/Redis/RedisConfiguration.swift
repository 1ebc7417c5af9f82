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
    /// Blocking commands such as `BLPOP` must block for less than this.
    public var commandTimeout: Duration = .seconds(5)

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
