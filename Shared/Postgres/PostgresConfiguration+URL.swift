import URLCoding

extension PostgresConfiguration {
    /// The URL schemes accepted: libpq's two and the seed's SQLAlchemy form.
    static let urlSchemes: Set<String> = ["postgresql", "postgres", "postgresql+psycopg"]

    /// Parses `scheme://[user[:password]@][host][:port][/database][?options]`.
    ///
    /// Accepts postgresql://, postgres:// and the seed's postgresql+psycopg:// form;
    /// percent-decodes user and password; ignores query options it does not know. Errors
    /// never contain the password.
    ///
    /// Missing parts keep the defaults of `init(host:port:user:password:database:)`. Known
    /// options: `connect_timeout` (seconds) and `application_name`.
    public init(url: String) throws(PostgresError) {
        self.init()
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw Self.urlError(
                "must start with postgresql://, postgres:// or postgresql+psycopg://")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard Self.urlSchemes.contains(scheme) else {
            // Echo the scheme only when it cannot be a fragment of a secret.
            let printable = scheme.count <= 32 && scheme.allSatisfy { $0.isLetter || $0.isNumber || "+.-".contains($0) }
            throw Self.urlError(
                "has an unsupported scheme\(printable ? " \"\(scheme)\"" : "");"
                    + " use postgresql://, postgres:// or postgresql+psycopg://")
        }

        var rest = Substring(url[schemeEnd.upperBound...])
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var query: Substring = ""
        // RFC 3986: the authority ends at the first "/", "?" or "#".
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = rest[authorityEnd...]
        if let questionMark = path.firstIndex(of: "?") {
            query = path[path.index(after: questionMark)...]
            path = path[..<questionMark]
        }

        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            let userPart: Substring
            if let colon = userInfo.firstIndex(of: ":") {
                userPart = userInfo[..<colon]
                let passwordPart = userInfo[userInfo.index(after: colon)...]
                guard let decoded = try? PercentDecoding.decode(passwordPart) else {
                    throw Self.urlError("has a password with an invalid percent-encoding")
                }
                password = decoded.isEmpty ? nil : decoded
            } else {
                userPart = userInfo
            }
            guard let decodedUser = try? PercentDecoding.decode(userPart) else {
                throw Self.urlError("has a user name with an invalid percent-encoding")
            }
            if !decodedUser.isEmpty { user = decodedUser }
        }
        try parseHostPort(hostPort)

        if path.hasPrefix("/") { path = path.dropFirst() }
        guard let decodedDatabase = try? PercentDecoding.decode(path) else {
            throw Self.urlError("has a database name with an invalid percent-encoding")
        }
        if !decodedDatabase.isEmpty { database = decodedDatabase }
        try parseOptions(query)
    }

    /// Splits `host[:port]` or `[ipv6][:port]`; never echoes the text, which could be a
    /// password when the URL lacks its "@".
    private mutating func parseHostPort(_ hostPort: Substring) throws(PostgresError) {
        var hostPart = hostPort
        var portPart: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw Self.urlError("has an IPv6 host without its closing \"]\"")
            }
            hostPart = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let afterHost = hostPort[hostPort.index(after: close)...]
            if !afterHost.isEmpty {
                guard afterHost.hasPrefix(":") else { throw Self.urlError("has an invalid host") }
                portPart = afterHost.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            hostPart = hostPort[..<colon]
            portPart = hostPort[hostPort.index(after: colon)...]
        }
        guard let decodedHost = try? PercentDecoding.decode(hostPart) else {
            throw Self.urlError("has a host with an invalid percent-encoding")
        }
        if !decodedHost.isEmpty { host = decodedHost }
        if let portPart, !portPart.isEmpty {
            guard let value = Int(portPart), (1...65535).contains(value) else {
                throw Self.urlError("has an invalid port (expected 1-65535)")
            }
            port = value
        }
    }

    /// Reads the options this client knows and ignores the rest (sslmode and the like).
    private mutating func parseOptions(_ query: Substring) throws(PostgresError) {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            let value = parts.count > 1 ? try? PercentDecoding.decode(parts[1]) : ""
            switch key {
            case "connect_timeout":
                guard let value, let seconds = Int(value), seconds >= 0 else {
                    throw Self.urlError("has an invalid connect_timeout (expected whole seconds)")
                }
                connectTimeoutSeconds = seconds
            case "application_name":
                guard let value else {
                    throw Self.urlError("has an application_name with an invalid percent-encoding")
                }
                applicationName = value
            default:
                continue
            }
        }
    }

    private static func urlError(_ problem: String) -> PostgresError {
        PostgresError(code: .configuration, message: "The database URL \(problem).")
    }
}
