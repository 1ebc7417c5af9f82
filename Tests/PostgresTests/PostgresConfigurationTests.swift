import Postgres
import Testing

@Suite("PostgresConfiguration URL parsing")
struct PostgresConfigurationTests {
    @Test("postgresql://, postgres:// and postgresql+psycopg:// all parse", arguments: [
        "postgresql", "postgres", "postgresql+psycopg", "PostgreSQL",
    ])
    func schemes(scheme: String) throws {
        let configuration = try PostgresConfiguration(url: "\(scheme)://alice:s3cret@db.internal:6432/pool")
        #expect(configuration.host == "db.internal")
        #expect(configuration.port == 6432)
        #expect(configuration.user == "alice")
        #expect(configuration.password == "s3cret")
        #expect(configuration.database == "pool")
    }

    @Test("user and password are percent-decoded")
    func percentDecoding() throws {
        let configuration = try PostgresConfiguration(
            url: "postgresql://ag%40ent:p%40ss%3Aw%2Fo%23rd%25@localhost/agentpool")
        #expect(configuration.user == "ag@ent")
        #expect(configuration.password == "p@ss:w/o#rd%")
        #expect(configuration.host == "localhost")
    }

    @Test("missing parts keep the defaults")
    func defaults() throws {
        let bare = try PostgresConfiguration(url: "postgresql://")
        #expect(bare == PostgresConfiguration())
        #expect(bare.host == "localhost")
        #expect(bare.port == 5432)
        #expect(bare.user == "agentpool")
        #expect(bare.password == nil)
        #expect(bare.database == "agentpool")
        #expect(bare.connectTimeoutSeconds == 5)
        #expect(bare.applicationName == "agentpool")

        let hostOnly = try PostgresConfiguration(url: "postgres://pgbouncer")
        #expect(hostOnly == PostgresConfiguration(host: "pgbouncer"))

        let userOnly = try PostgresConfiguration(url: "postgresql://bob@:7000")
        #expect(userOnly == PostgresConfiguration(port: 7000, user: "bob"))
    }

    @Test("known options are read, unknown ones ignored")
    func options() throws {
        let configuration = try PostgresConfiguration(
            url: "postgresql://u:p@h:1/d?sslmode=disable&connect_timeout=10&application_name=my%20gateway&target_session_attrs=any")
        #expect(configuration.connectTimeoutSeconds == 10)
        #expect(configuration.applicationName == "my gateway")
        #expect(configuration.database == "d")
    }

    @Test("IPv6 hosts in brackets")
    func ipv6() throws {
        let configuration = try PostgresConfiguration(url: "postgresql://u@[::1]:5433/d")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 5433)
        #expect(configuration.redactedDescription == "postgresql://u@[::1]:5433/d")
    }

    @Test("bad URLs fail with .configuration and never echo the password", arguments: [
        "mysql://user:topsecret@host/db",
        "topsecret",
        "postgresql://user:topsecret@host:notaport/db",
        "postgresql://user:topsecret@host:70000/db",
        "postgresql://user:topsecret",
        "postgresql://user:top%zzsecret@host/db",
        "postgresql://user:topsecret@[::1/db",
        "postgresql://user:topsecret@host/db?connect_timeout=soon",
    ])
    func badURLs(url: String) {
        #expect {
            try PostgresConfiguration(url: url)
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.code == .configuration && !error.message.contains("topsecret")
                && !error.message.contains("secret") && !error.description.contains("secret")
        }
    }

    @Test("descriptions, debug output and dump() mask the password")
    func redaction() throws {
        let configuration = try PostgresConfiguration(url: "postgresql://agentpool:hunter22@pgbouncer:6432/agentpool")
        #expect(configuration.redactedDescription == "postgresql://agentpool:***@pgbouncer:6432/agentpool")
        #expect(!"\(configuration)".contains("hunter22"))
        #expect(!String(reflecting: configuration).contains("hunter22"))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("hunter22"))
        #expect(PostgresConfiguration().redactedDescription == "postgresql://agentpool@localhost:5432/agentpool")
    }
}
