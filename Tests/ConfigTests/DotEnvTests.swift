import PoolConfig
import Testing

/// The `.env` block of the seed's setup guide, verbatim.
let seedDotEnv = """
    # ===== Existing PostgreSQL Connection =====
    POSTGRES_SERVER=localhost
    POSTGRES_PORT=5432
    POSTGRES_USER=vibesd lc_user
    POSTGRES_PASSWORD=your_password
    POSTGRES_DB=vibesd lc

    # ===== PgBouncer Connection (Optional) =====
    # If using PgBouncer, workers will use this instead of direct PostgreSQL
    # Format: postgresql+psycopg://user:password@host:port/dbname
    PGBOUNCER_URL=postgresql+psycopg://vibesd lc_user:your_password@localhost:6432/vibesd lc

    # ===== Redis Connection =====
    REDIS_HOST=localhost
    REDIS_PORT=6379
    REDIS_PASSWORD=  # Leave empty if no password
    REDIS_DB=0

    # Alternative: Redis URL (overrides individual settings)
    # REDIS_URL=redis://localhost:6379/0
    # REDIS_URL=redis://:password@localhost:6379/0  # With password

    """

func dotEnvError(_ text: String) -> ConfigurationError? {
    do {
        _ = try DotEnv.parse(text, fileName: ".env")
        return nil
    } catch {
        return error
    }
}

@Suite struct DotEnvTests {
    @Test func parsesTheSeedsExample() throws {
        let variables = try DotEnv.parse(seedDotEnv, fileName: ".env")
        #expect(variables == [
            "POSTGRES_SERVER": "localhost",
            "POSTGRES_PORT": "5432",
            "POSTGRES_USER": "vibesd lc_user",
            "POSTGRES_PASSWORD": "your_password",
            "POSTGRES_DB": "vibesd lc",
            "PGBOUNCER_URL": "postgresql+psycopg://vibesd lc_user:your_password@localhost:6432/vibesd lc",
            "REDIS_HOST": "localhost",
            "REDIS_PORT": "6379",
            "REDIS_PASSWORD": "",
            "REDIS_DB": "0",
        ])
    }

    @Test func quotesExportCommentsAndLineEndings() throws {
        let text = """
            export A=1
            B = two words   # comment
            C='single # not a comment \\n'
            D="double \\"quoted\\"\\tand\\nescaped" # comment
            E=x#y
            F=
            G=#comment only
            \r
            H=windows\r
              I = indented
            A=last wins
            """
        let variables = try DotEnv.parse(text, fileName: ".env")
        #expect(variables["A"] == "last wins")
        #expect(variables["B"] == "two words")
        #expect(variables["C"] == "single # not a comment \\n")
        #expect(variables["D"] == "double \"quoted\"\tand\nescaped")
        #expect(variables["E"] == "x#y")
        #expect(variables["F"] == "")
        #expect(variables["G"] == "")
        #expect(variables["H"] == "windows")
        #expect(variables["I"] == "indented")
    }

    @Test(arguments: [
        ("A=1\njust some words with s3cret\n", 2, "", "expected KEY=VALUE"),
        ("A=1\n\n9X=s3cret\n", 3, "", "expected KEY=VALUE with a name"),
        ("MY KEY=s3cret\n", 1, "", "expected KEY=VALUE with a name"),
        ("P=\"s3cret\n", 1, "P", "the quoted value has no closing \" on this line"),
        ("P='s3cret' trailing\n", 1, "P", "unexpected text after the closing quote"),
    ])
    func malformedLinesNameFileAndLineButNotTheirText(text: String, line: Int, key: String, message: String) throws {
        let error = try #require(dotEnvError(text))
        #expect(error.source == ".env" && error.line == line && error.key == key, "\(error)")
        #expect(error.message == message || error.message.hasPrefix(message), "\(error)")
        #expect(!error.description.contains("s3cret"))
    }
}
