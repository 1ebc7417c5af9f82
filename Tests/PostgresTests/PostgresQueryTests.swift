import Foundation
import Postgres
import Testing

/// Statements through PgBouncer in transaction mode, as the services run them.
@Suite("Queries through PgBouncer", .serialized)
struct PostgresQueryTests {
    @Test("parameters of every type round-trip, including NULL, jsonb, uuid and timestamptz")
    func roundTrip() async throws {
        try await TestDatabase.withClient { client in
            try await TestDatabase.withTable(
                client, "types",
                "id uuid PRIMARY KEY, name text, count bigint, ratio double precision, flag boolean, at timestamptz, doc jsonb, note text"
            ) { table in

            let id = UUID()
            let at = Date(timeIntervalSince1970: 1_795_934_511.123)
            let name = "O'Reilly ✓ \"quoted\" $1 -- not a comment"
            let inserted = try await client.query(
                "INSERT INTO \(table) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)",
                [id, name, Int.min, 0.1, false, at, #"{"b": "x", "a": [1, 2]}"#, nil])
            #expect(inserted.affectedRows == 1)

            let result = try await client.query(
                "SELECT *, doc->>'b' AS b, pg_typeof(at)::text AS at_type FROM \(table) WHERE id = $1", [id])
            let row = try #require(result.rows.first)
            #expect(result.rows.count == 1)
            #expect(try row.decode("id", as: UUID.self) == id)
            #expect(try row.decode("name", as: String.self) == name)
            #expect(try row.decode("count", as: Int.self) == Int.min)
            #expect(try row.decode("ratio", as: Double.self) == 0.1)
            #expect(try row.decode("flag", as: Bool.self) == false)
            #expect(try row.decode("at", as: Date.self) == at)
            #expect(row["doc"] == #"{"a": [1, 2], "b": "x"}"#)
            #expect(row["b"] == "x")
            #expect(row["at_type"] == "timestamp with time zone")
            #expect(try row.decodeIfPresent("note", as: String.self) == nil)
            #expect(row["note"] == nil)
            }
        }
    }

    @Test("special values survive the text format")
    func specialValues() async throws {
        try await TestDatabase.withClient { client in
            let result = try await client.query(
                """
                SELECT $1::float8 AS nan, $2::float8 AS inf, $3::float8 AS neginf, $4::int8 AS big,
                    $5::bool AS yes, $6::text IS NULL AS null_is_null, $7::text AS empty, $8::text AS unicode
                """,
                [Double.nan, Double.infinity, -Double.infinity, Int.max, true, nil, "", "héllo 🐘 中文"])
            let row = try #require(result.rows.first)
            #expect(try row.decode("nan", as: Double.self).isNaN)
            #expect(try row.decode("inf", as: Double.self) == .infinity)
            #expect(try row.decode("neginf", as: Double.self) == -.infinity)
            #expect(try row.decode("big", as: Int.self) == Int.max)
            #expect(try row.decode("yes", as: Bool.self))
            #expect(try row.decode("null_is_null", as: Bool.self))
            #expect(try row.decode("empty", as: String.self) == "")
            #expect(try row.decode("unicode", as: String.self) == "héllo 🐘 中文")
            #expect(result.affectedRows == 1)
        }
    }

    @Test("timestamptz output with other session time zones and offsets decodes")
    func timeZones() async throws {
        try await TestDatabase.withClient { client in
            let result = try await client.query(
                """
                SELECT '2026-11-29 06:41:51.123456+00'::timestamptz AS utc,
                    ('2026-11-29 06:41:51.123456+00'::timestamptz AT TIME ZONE 'Asia/Kolkata')::text || '+05:30' AS kolkata,
                    now() AS now
                """)
            let row = try #require(result.rows.first)
            let utc = try row.decode("utc", as: Date.self)
            #expect(abs(utc.timeIntervalSince1970 - 1_795_934_511.123456) < 0.000_001)
            #expect(try row.decode("kolkata", as: Date.self) == utc)
            #expect(abs(try row.decode("now", as: Date.self).timeIntervalSinceNow) < 60)
        }
    }

    @Test("a unique violation is reported as such, without the duplicated value")
    func uniqueViolation() async throws {
        try await TestDatabase.withClient { client in
            try await TestDatabase.withTable(client, "unique", "key text PRIMARY KEY") { table in
            try await client.query("INSERT INTO \(table) VALUES ($1)", ["idem-key-5150"])
            do {
                try await client.query("INSERT INTO \(table) VALUES ($1)", ["idem-key-5150"])
                Issue.record("the second insert should have failed")
            } catch let error as PostgresError {
                #expect(error.isUniqueViolation)
                #expect(error.code == .server)
                #expect(error.sqlState == "23505")
                #expect(error.message.contains("duplicate key value violates unique constraint"))
                #expect(!error.description.contains("idem-key-5150"))
            }
            // The connection is still usable after a server error.
            let count = try await client.query("SELECT count(*) AS n FROM \(table)")
            #expect(try count.rows.first?.decode("n", as: Int.self) == 1)
            }
        }
    }

    @Test("server errors carry the primary message only: no SQL, no parameters")
    func errorMessages() async throws {
        try await TestDatabase.withClient { client in
            let sql = "SELECT length($1::text) / 0 AS marker_column_xyz FROM pg_class LIMIT 1"
            do {
                try await client.query(sql, ["parameter-value-8472"])
                Issue.record("division by zero should fail")
            } catch let error as PostgresError {
                #expect(error.code == .server)
                #expect(error.sqlState == "22012")
                #expect(error.message == "division by zero")
                for secret in ["marker_column_xyz", "parameter-value-8472", "SELECT", "pg_class", "LINE 1"] {
                    #expect(!error.description.contains(secret))
                }
            }
            do {
                try await client.query("SELECT missing_column_abc FROM pg_class WHERE relname = $1", ["param-9911"])
                Issue.record("an unknown column should fail")
            } catch let error as PostgresError {
                #expect(error.sqlState == "42703")
                #expect(!error.description.contains("param-9911"))
                #expect(!error.description.contains("WHERE"))
            }
        }
    }

    @Test("a wrong password fails with .connection without echoing it, then backs off")
    func wrongPassword() async throws {
        var configuration = try TestDatabase.configuration(TestDatabase.pgbouncer)
        configuration.password = "wrong-password-4471"
        let client = PostgresClient(configuration: configuration, poolSize: 2, logger: TestDatabase.logger)
        var messages: [String] = []
        for _ in 0..<5 {
            do {
                try await client.query("SELECT 1")
                Issue.record("connecting with a wrong password should fail")
            } catch {
                #expect(error.code == .connection)
                messages.append(error.description)
            }
        }
        await client.close()
        print("wrong password errors:", messages)
        #expect(messages.count == 5)
        #expect(messages.allSatisfy { !$0.contains("wrong-password-4471") && !$0.isEmpty })
        // The first attempt really connects; later ones inside the backoff fail fast.
        #expect(messages.first?.contains("Not connecting") == false)
        #expect(messages.contains { $0.contains("Not connecting for another") })
    }
}
