import Logging
import Redis
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Redis server the integration tests talk to, from `REDIS_URL`.
enum TestRedis {
    /// The configured server; throws (so the test fails, never skips) without `REDIS_URL`.
    static func configuration() throws -> RedisConfiguration {
        try RedisConfiguration(url: TestServersEnvironment.required("REDIS_URL"))
    }

    static let logger = Logger(label: "RedisTests")

    /// A key prefix no other test (or run) uses.
    static func uniquePrefix(_ name: String) -> String {
        "redistests:\(name):\(UInt64.random(in: 0...UInt64.max))"
    }

    /// Runs `body` with a client, then deletes every key under `prefix` and closes it.
    static func withClient<T>(
        prefix: String, poolSize: Int = 4, _ body: (RedisClient) async throws -> T
    ) async throws -> T {
        let client = RedisClient(configuration: try configuration(), poolSize: poolSize, logger: logger)
        do {
            let result = try await body(client)
            await cleanUp(prefix, client)
            return result
        } catch {
            await cleanUp(prefix, client)
            throw error
        }
    }

    private static func cleanUp(_ prefix: String, _ client: RedisClient) async {
        if let keys = try? await client.send("KEYS", "\(prefix)*").array, !keys.isEmpty {
            _ = try? await client.send(["DEL"] + keys.compactMap(\.string))
        }
        await client.close()
    }

    /// Creates an ACL user that may do everything, runs `body`, and deletes the user.
    static func withUser<T>(
        _ client: RedisClient, password: String, _ body: (String) async throws -> T
    ) async throws -> T {
        let user = "redistests-\(UInt32.random(in: 0...UInt32.max))"
        _ = try await client.send("ACL", "SETUSER", user, "on", ">\(password)", "~*", "&*", "+@all")
        do {
            let result = try await body(user)
            _ = try? await client.send("ACL", "DELUSER", user)
            return result
        } catch {
            _ = try? await client.send("ACL", "DELUSER", user)
            throw error
        }
    }

    /// Percent-encodes every byte outside unreserved URL characters.
    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
