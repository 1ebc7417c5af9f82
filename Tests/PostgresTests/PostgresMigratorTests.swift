import Foundation
import Postgres
import Testing

/// Migrations through PgBouncer, with several starters racing.
@Suite("Migrations", .serialized)
struct PostgresMigratorTests {
    @Test("4 concurrent migrators apply each migration exactly once; a second apply applies nothing")
    func concurrentMigrators() async throws {
        let table = TestDatabase.uniqueTable("migrated")
        // Versions of their own, so parallel runs and real migrations never collide.
        let base = Int.random(in: 1_000_000...2_000_000_000)
        let migrations = [
            PostgresMigration(
                version: base, name: "create",
                sql: "CREATE TABLE \(table) (version int NOT NULL); INSERT INTO \(table) VALUES (\(base));"),
            PostgresMigration(
                version: base + 2, name: "add column",
                sql: "ALTER TABLE \(table) ADD COLUMN note text; INSERT INTO \(table) VALUES (\(base + 2), 'x');"),
            PostgresMigration(
                version: base + 1, name: "insert", sql: "INSERT INTO \(table) VALUES (\(base + 1));"),
        ]

        let results = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await TestDatabase.withClient(poolSize: 1) { client in
                        try await PostgresMigrator(client: client, logger: TestDatabase.logger).apply(migrations)
                    }
                }
            }
            return try await group.reduce(into: [[Int]]()) { $0.append($1) }
        }
        print("migrators applied:", results)
        #expect(results.flatMap { $0 }.sorted() == [base, base + 1, base + 2])
        #expect(results.allSatisfy { $0 == $0.sorted() })

        try await TestDatabase.withClient { client in
            let runs = try await client.query(
                "SELECT version, count(*) AS runs FROM \(table) GROUP BY version ORDER BY version")
            #expect(try runs.rows.map { try $0.decode("version", as: Int.self) } == [base, base + 1, base + 2])
            #expect(try runs.rows.allSatisfy { try $0.decode("runs", as: Int.self) == 1 })

            let recorded = try await client.query(
                "SELECT version, name, applied_at FROM schema_migrations WHERE version BETWEEN $1 AND $2 ORDER BY version",
                [base, base + 2])
            #expect(try recorded.rows.map { try $0.decode("name", as: String.self) } == ["create", "insert", "add column"])
            #expect(try recorded.rows.allSatisfy { abs(try $0.decode("applied_at", as: Date.self).timeIntervalSinceNow) < 300 })

            let again = try await PostgresMigrator(client: client, logger: TestDatabase.logger).apply(migrations)
            #expect(again.isEmpty)

            try await client.query("DROP TABLE \(table)")
            try await client.query("DELETE FROM schema_migrations WHERE version BETWEEN $1 AND $2", [base, base + 2])
        }
    }

    @Test("a migration added later is applied after the up-to-date check; the recorded ones are not run again")
    func laterMigration() async throws {
        let table = TestDatabase.uniqueTable("later")
        let base = Int.random(in: 1_000_000...2_000_000_000)
        let first = PostgresMigration(version: base, name: "create", sql: "CREATE TABLE \(table) (note text NOT NULL);")
        let second = PostgresMigration(version: base + 1, name: "insert", sql: "INSERT INTO \(table) VALUES ('later');")
        try await TestDatabase.withClient { client in
            let migrator = PostgresMigrator(client: client, logger: TestDatabase.logger)
            #expect(try await migrator.apply([first]) == [base])
            #expect(try await migrator.apply([first]).isEmpty)
            #expect(try await migrator.apply([first, second]) == [base + 1])
            #expect(try await migrator.apply([first, second]).isEmpty)
            let rows = try await client.query("SELECT note FROM \(table)")
            #expect(try rows.rows.map { try $0.decode("note", as: String.self) } == ["later"])
            try await client.query("DROP TABLE \(table)")
            try await client.query("DELETE FROM schema_migrations WHERE version BETWEEN $1 AND $2", [base, base + 1])
        }
    }

    @Test("a failing migration is rolled back and not recorded")
    func failingMigration() async throws {
        let table = TestDatabase.uniqueTable("failing")
        let version = Int.random(in: 1_000_000...2_000_000_000)
        let migration = PostgresMigration(
            version: version, name: "broken",
            sql: "CREATE TABLE \(table) (n int); INSERT INTO \(table) VALUES ('not a number');")
        try await TestDatabase.withClient { client in
            let migrator = PostgresMigrator(client: client, logger: TestDatabase.logger)
            await #expect(throws: PostgresError.self) { try await migrator.apply([migration]) }
            let recorded = try await client.query("SELECT 1 FROM schema_migrations WHERE version = $1", [version])
            #expect(recorded.rows.isEmpty)
            let exists = try await client.query("SELECT to_regclass($1) IS NOT NULL AS exists", [table])
            #expect(try exists.rows[0].decode("exists", as: Bool.self) == false)
        }
    }

    @Test("duplicate versions are a configuration error")
    func duplicateVersions() async throws {
        try await TestDatabase.withClient { client in
            let migrator = PostgresMigrator(client: client, logger: TestDatabase.logger)
            await #expect {
                try await migrator.apply([
                    PostgresMigration(version: 1, name: "a", sql: "SELECT 1"),
                    PostgresMigration(version: 1, name: "b", sql: "SELECT 2"),
                ])
            } throws: { error in
                (error as? PostgresError)?.code == .configuration
            }
        }
    }
}
