/// Keeps the credentials of connection URLs (`scheme://user:password@host:port/db`) out of
/// error messages.
enum URLCredentials {
    /// `scheme://host:port`, without user, password, path or query; what a message may show.
    static func redactedOrigin(of url: String) -> String? {
        let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        return "\(parts[0])://\(authority(of: parts[1]))"
    }

    /// The password as written and percent-decoded; what a message must never contain.
    static func secrets(in url: String) -> [String] {
        let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return [url] }  // not a URL at all: show none of it
        // The last @ anywhere ends the user info: a password may hold an unescaped / or ?.
        guard let at = parts[1].lastIndex(of: "@") else { return [] }
        let userInfo = parts[1][..<at]
        let password = userInfo.firstIndex(of: ":").map { userInfo[userInfo.index(after: $0)...] } ?? userInfo
        guard !password.isEmpty else { return [] }
        return [String(password), percentDecoded(password)]
    }

    /// An explanation from a client library, unless it contains a secret of `url`.
    static func safeReason(_ reason: String, for url: String) -> String? {
        let secrets = secrets(in: url).filter { !$0.isEmpty }
        return secrets.contains(where: reason.contains) ? nil : reason
    }

    /// `host:port`: after the user info, up to the path, query or fragment.
    private static func authority(of rest: Substring) -> Substring {
        let afterUserInfo = rest.lastIndex(of: "@").map { rest[rest.index(after: $0)...] } ?? rest
        return afterUserInfo.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            if byte == UInt8(ascii: "%"), let high = utf8.next(), let low = utf8.next(),
               let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
