import URLCoding

extension RedisConfiguration {
    /// Parses `redis://[[user]:password@]host[:port][/db]`.
    ///
    /// User and password are percent-decoded (write `@` as `%40`, `:` as `%3A`, `/` as `%2F`).
    /// Errors describe what is wrong without repeating any part of the URL, because a
    /// password with an unencoded `/` or `@` would otherwise end up in logs.
    public init(url: String) throws(RedisError) {
        self.init()
        let scheme = "redis://"
        guard url.lowercased().hasPrefix(scheme) else {
            throw Self.invalid(
                url.lowercased().hasPrefix("rediss://")
                    ? "TLS (rediss://) is not supported; use redis://"
                    : "it must start with redis://")
        }
        var rest = url.dropFirst(scheme.count)
        guard !rest.contains("?"), !rest.contains("#") else {
            throw Self.invalid(
                "query parameters and fragments are not supported (percent-encode '?' and '#' in a password)")
        }

        // The database path starts at the first "/" after the last "@" (so an unencoded
        // "/" in the password is not mistaken for it); everything before is the authority.
        let userInfoEnd = rest.lastIndex(of: "@")
        let authorityStart = userInfoEnd.map { rest.index(after: $0) } ?? rest.startIndex
        if let slash = rest[authorityStart...].firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let database = Int(path), database >= 0 else {
                    throw Self.invalid("the database after the host must be a number such as /0")
                }
                self.database = database
            }
            rest = rest[..<slash]
        }

        if let userInfoEnd {
            try parseUserInfo(rest[..<userInfoEnd])
            rest = rest[rest.index(after: userInfoEnd)...]
        }
        try parseHostAndPort(rest)
    }

    private mutating func parseUserInfo(_ userInfo: Substring) throws(RedisError) {
        guard let colon = userInfo.firstIndex(of: ":") else {
            throw Self.invalid(
                "it has a user name but no password; write redis://user:password@host "
                    + "or redis://:password@host")
        }
        let user = try Self.percentDecoded(userInfo[..<colon], part: "user name")
        let password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], part: "password")
        guard !password.isEmpty else {
            throw Self.invalid("the password after ':' is empty")
        }
        self.username = user.isEmpty ? nil : user
        self.password = password
    }

    private mutating func parseHostAndPort(_ hostPort: Substring) throws(RedisError) {
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            // IPv6 literal: [::1] or [::1]:6380.
            guard let close = hostPort.firstIndex(of: "]") else {
                throw Self.invalid("an IPv6 host needs a closing ']'")
            }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw Self.invalid("unexpected text after ']'") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = String(hostPort)
        }
        guard !host.isEmpty else { throw Self.invalid("the host is missing") }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw Self.invalid("the port must be a number from 1 to 65535")
            }
            self.port = port
        }
    }

    /// Decodes `%XX` escapes; the text itself never appears in the error.
    private static func percentDecoded(_ text: Substring, part: String) throws(RedisError) -> String {
        do {
            return try PercentDecoding.decode(text)
        } catch .badEscape {
            throw invalid("the \(part) has a '%' that is not followed by two hex digits")
        } catch {
            throw invalid("the \(part) is not valid UTF-8 once percent-decoded")
        }
    }

    private static func invalid(_ problem: String) -> RedisError {
        RedisError(.configuration, "invalid Redis URL: \(problem) (format: redis://[[user]:password@]host[:port][/db])")
    }
}
