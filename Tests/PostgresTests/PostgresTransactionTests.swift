import Postgres
import Testing

/// BEGIN … COMMIT through PgBouncer, where a transaction pins one server connection.
@Suite("Transactions through PgBouncer", .serialized)
struct PostgresTransactionTests {
    struct Boom: Error {}

    @Test("withTransaction commits what the body wrote")
    func commit() async throws {
        try await TestDatabase.withClient { client in
            try await TestDatabase.withTable(client, "commit", "n int") { table in
                let returned = try await client.withTransaction { connection in
                    try await connection.query("INSERT INTO \(table) VALUES ($1), ($2)", [1, 2])
                    return try await connection.query("SELECT count(*) AS n FROM \(table)").rows[0].decode("n", as: Int.self)
                }
                #expect(returned == 2)
                let count = try await client.query("SELECT count(*) AS n FROM \(table)")
                #expect(try count.rows[0].decode("n", as: Int.self) == 2)
            }
        }
    }

    @Test("withTransaction rolls back and rethrows when the body throws")
    func rollback() async throws {
        try await TestDatabase.withClient { client in
            try await TestDatabase.withTable(client, "rollback", "n int") { table in
                await #expect(throws: Boom.self) {
                    try await client.withTransaction { connection in
                        try await connection.query("INSERT INTO \(table) VALUES ($1)", [1])
                        throw Boom()
                    }
                }
                let count = try await client.query("SELECT count(*) AS n FROM \(table)")
                #expect(try count.rows[0].decode("n", as: Int.self) == 0)
            }
        }
    }

    @Test("a statement error the body swallowed still fails the transaction")
    func swallowedError() async throws {
        try await TestDatabase.withClient { client in
            try await TestDatabase.withTable(client, "swallowed", "n int PRIMARY KEY") { table in
                do {
                    try await client.withTransaction { connection in
                        try await connection.query("INSERT INTO \(table) VALUES ($1)", [1])
                        _ = try? await connection.query("INSERT INTO \(table) VALUES ($1)", [1])
                    }
                    Issue.record("the transaction should have failed")
                } catch let error as PostgresError {
                    #expect(error.sqlState == "25P02")
                }
                let count = try await client.query("SELECT count(*) AS n FROM \(table)")
                #expect(try count.rows[0].decode("n", as: Int.self) == 0)
            }
        }
    }

    @Test("a transaction left open by withConnection is rolled back before reuse")
    func leftOpen() async throws {
        try await TestDatabase.withClient(poolSize: 1) { client in
            try await TestDatabase.withTable(client, "leftopen", "n int") { table in
                try await client.withConnection { connection in
                    try await connection.query("BEGIN")
                    try await connection.query("INSERT INTO \(table) VALUES ($1)", [1])
                }
                let result = try await client.query(
                    "SELECT count(*) AS n, pg_current_xact_id_if_assigned() IS NULL AS fresh FROM \(table)")
                #expect(try result.rows[0].decode("n", as: Int.self) == 0)
                #expect(try result.rows[0].decode("fresh", as: Bool.self))
            }
        }
    }

    @Test("execute(script:) runs several statements at once")
    func script() async throws {
        try await TestDatabase.withClient { client in
            let table = TestDatabase.uniqueTable("script")
            try await client.withConnection { connection in
                try await connection.execute(
                    script: "CREATE TABLE \(table) (n int); INSERT INTO \(table) VALUES (1); INSERT INTO \(table) VALUES (2);")
            }
            let count = try await client.query("SELECT sum(n) AS total FROM \(table)")
            #expect(try count.rows[0].decode("total", as: Int.self) == 3)
            try await client.query("DROP TABLE \(table)")
        }
    }
}
