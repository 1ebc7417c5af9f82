import Redis
import Testing

@Suite("RedisConfiguration URL parsing")
struct RedisConfigurationTests {
    @Test func defaults() {
        let configuration = RedisConfiguration()
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 6379)
        #expect(configuration.username == nil)
        #expect(configuration.password == nil)
        #expect(configuration.database == 0)
        #expect(configuration.connectTimeout == .seconds(2))
        #expect(configuration.commandTimeout == .seconds(5))
    }

    @Test func hostOnly() throws {
        let configuration = try RedisConfiguration(url: "redis://cache.internal")
        #expect(configuration == RedisConfiguration(host: "cache.internal"))
    }

    @Test func fullURL() throws {
        let configuration = try RedisConfiguration(url: "redis://agent:s3cret@10.0.0.5:6380/3")
        #expect(configuration.host == "10.0.0.5")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "agent")
        #expect(configuration.password == "s3cret")
        #expect(configuration.database == 3)
    }

    @Test func passwordOnlyAndTrailingSlash() throws {
        let configuration = try RedisConfiguration(url: "REDIS://:pw@localhost:6379/")
        #expect(configuration.username == nil)
        #expect(configuration.password == "pw")
        #expect(configuration.database == 0)
    }

    @Test func percentDecodedSpecialCharacters() throws {
        // p@ss:w/rd%?#ü with every special character encoded.
        let configuration = try RedisConfiguration(url: "redis://us%3Aer:p%40ss%3Aw%2Frd%25%3F%23%C3%BC@h:1/2")
        #expect(configuration.username == "us:er")
        #expect(configuration.password == "p@ss:w/rd%?#ü")
        #expect(configuration.host == "h")
        #expect(configuration.port == 1)
        #expect(configuration.database == 2)
    }

    @Test func unencodedAtAndSlashInPasswordStillParse() throws {
        let configuration = try RedisConfiguration(url: "redis://:a@b/c@host:7000/4")
        #expect(configuration.password == "a@b/c")
        #expect(configuration.host == "host")
        #expect(configuration.port == 7000)
        #expect(configuration.database == 4)
    }

    @Test func ipv6() throws {
        let configuration = try RedisConfiguration(url: "redis://[::1]:6390/1")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 6390)
        #expect(configuration.redactedDescription == "redis://[::1]:6390/1")
    }

    @Test(arguments: [
        "http://localhost:6379",
        "rediss://localhost:6379",
        "redis://",
        "redis://:6379",
        "redis://localhost:0",
        "redis://localhost:65536",
        "redis://localhost:port",
        "redis://localhost/x",
        "redis://localhost/-1",
        "redis://localhost?db=1",
        "redis://user@localhost",
        "redis://:@localhost",
        "redis://[::1:6379",
    ])
    func badURLs(url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
        do {
            _ = try RedisConfiguration(url: url)
        } catch {
            #expect(error.code == .configuration)
            #expect(error.message.contains("redis://"))
        }
    }

    @Test(arguments: [
        "redis://:topsecret@localhost:abc",
        "redis://:top/secret@localhost:6379/x",
        "redis://:topsecret%zz@localhost",
        "redis://:topsecret%C3@localhost",
        "redis://:topsecret?@localhost",
    ])
    func errorsNeverContainThePassword(url: String) {
        do {
            _ = try RedisConfiguration(url: url)
            Issue.record("expected \(url) to be rejected")
        } catch {
            #expect(!error.message.contains("secret"))
            #expect(!error.description.contains("secret"))
        }
    }

    @Test func redaction() throws {
        let withUser = try RedisConfiguration(url: "redis://agent:s3cret@example.com:6380/2")
        #expect(withUser.redactedDescription == "redis://agent:***@example.com:6380/2")
        let passwordOnly = try RedisConfiguration(url: "redis://:s3cret@example.com")
        #expect(passwordOnly.redactedDescription == "redis://:***@example.com:6379/0")
        #expect(RedisConfiguration().redactedDescription == "redis://127.0.0.1:6379/0")
    }
}
