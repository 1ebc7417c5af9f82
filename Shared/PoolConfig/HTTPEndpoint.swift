/// Where an http runtime sends its tasks: the parts of `http://host[:port]/path`, as the
/// runtime's HTTP/1.1 client needs them. Plain HTTP only: the client has no TLS.
public struct HTTPEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// A name or an IPv4 address, or an IPv6 address without its brackets.
    public var host: String
    public var port: Int
    /// The request target: the path, with its query if any; at least `/`.
    public var target: String

    /// Parses `http://host[:port]/path`; nil with `problem(with:)` telling why.
    public init?(_ url: String) {
        guard let parts = try? Self.parse(url).get() else { return nil }
        self = parts
    }

    /// The `Host` header's value.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    public var description: String { "http://\(hostHeader)\(target)" }

    /// What is wrong with `url` as an http runtime's endpoint, in words; nil when it is fine.
    public static func problem(with url: String) -> String? {
        switch parse(url) {
        case .success: return nil
        case .failure(let problem): return problem.message
        }
    }

    struct Problem: Error {
        let message: String
    }

    static func parse(_ url: String) -> Result<HTTPEndpoint, Problem> {
        let shown = "\"\(redacted(url).prefix(100))\""
        let expected = "expected http://host[:port]/path, found \(shown)"
        if url.lowercased().hasPrefix("https://") {
            return .failure(Problem(message: "https is not supported (the http runtime speaks plain HTTP/1.1; put the agent behind a local plain-HTTP endpoint or a TLS-terminating proxy), found \(shown)"))
        }
        guard url.lowercased().hasPrefix("http://") else { return .failure(Problem(message: expected)) }
        guard url.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0.asciiValue.map { $0 >= 0x21 && $0 < 0x7f } == true }) else {
            return .failure(Problem(message: "must not contain spaces, control or non-ASCII characters (percent-encode them), found \(shown)"))
        }
        let rest = url.dropFirst("http://".count)
        if rest.contains("#") {
            return .failure(Problem(message: "must not have a fragment (#...), found \(shown)"))
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if target.isEmpty { target = "/" } else if target.hasPrefix("?") { target = "/" + target }
        if authority.contains("@") {
            return .failure(Problem(message: "must not carry credentials (user@host), found \(shown)"))
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(Problem(message: expected)) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(Problem(message: expected)) }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                return .failure(Problem(message: "has an invalid IPv6 address, found \(shown)"))
            }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }) else {
                return .failure(Problem(message: "needs a host name or address, \(expected)"))
            }
        }
        var port = 80
        if let portText {
            guard let value = Int(portText), (1...65_535).contains(value), portText.allSatisfy(\.isNumber) else {
                return .failure(Problem(message: "has an invalid port (1-65535), found \(shown)"))
            }
            port = value
        }
        return .success(HTTPEndpoint(host: String(host), port: port, target: target))
    }

    /// `url` with any `user:password@` replaced by `***@`: messages never show credentials.
    static func redacted(_ url: String) -> String {
        guard let scheme = url.firstRange(of: "://") else { return url }
        let rest: Substring = url[scheme.upperBound...]
        let authorityEnd: String.Index = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        let head = String(url[..<scheme.upperBound])
        return head + "***" + String(url[at...])
    }

    private init(host: String, port: Int, target: String) {
        self.host = host
        self.port = port
        self.target = target
    }
}
