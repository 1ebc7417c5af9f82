@testable import Postgres
import Testing

@Suite("Connect backoff")
struct BackoffTests {
    @Test("waits 50 ms, doubling, at most 2 s")
    func delays() {
        let delays = (0...8).map { Backoff.delay(afterFailures: $0) }
        #expect(delays == [
            .zero, .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400),
            .milliseconds(800), .milliseconds(1600), .seconds(2), .seconds(2),
        ])
        #expect(Backoff.delay(afterFailures: 1000) == .seconds(2))
    }

    @Test("overlapping failures count once; success resets")
    func failuresAndSuccess() {
        var backoff = Backoff()
        let start = ContinuousClock.now
        #expect(!backoff.isWaiting(at: start))

        backoff.recordFailure(message: "refused", at: start)
        backoff.recordFailure(message: "refused again", at: start + .milliseconds(10))
        #expect(backoff.failures == 1)
        #expect(backoff.lastMessage == "refused again")
        #expect(backoff.isWaiting(at: start + .milliseconds(49)))
        #expect(!backoff.isWaiting(at: start + .milliseconds(50)))

        backoff.recordFailure(message: "refused", at: start + .milliseconds(60))
        #expect(backoff.failures == 2)
        #expect(backoff.isWaiting(at: start + .milliseconds(159)))
        #expect(!backoff.isWaiting(at: start + .milliseconds(160)))

        backoff.recordSuccess()
        #expect(backoff.failures == 0)
        #expect(!backoff.isWaiting(at: start + .milliseconds(61)))
    }
}

@Suite("Rows")
struct PostgresRowTests {
    let row = PostgresRow(
        columns: PostgresColumns(names: ["id", "name", "note", "id"]), values: ["7", "ada", nil, "8"])

    @Test("subscript gives raw text, nil for NULL or a missing column")
    func subscripts() {
        #expect(row["id"] == "7")
        #expect(row["name"] == "ada")
        #expect(row["note"] == nil)
        #expect(row["missing"] == nil)
    }

    @Test("decode reads values; the first of duplicate columns wins")
    func decode() throws {
        #expect(try row.decode("id", as: Int.self) == 7)
        #expect(try row.decode("name") == "ada")
        #expect(try row.decodeIfPresent("note", as: String.self) == nil)
    }

    @Test("NULL, missing or malformed columns are .decoding errors naming the column")
    func decodeErrors() {
        let cases: [(column: String, attempt: () throws -> Void)] = [
            ("note", { _ = try row.decode("note", as: String.self) }),
            ("missing", { _ = try row.decode("missing", as: Int.self) }),
            ("missing", { _ = try row.decodeIfPresent("missing", as: Int.self) }),
            ("name", { _ = try row.decode("name", as: Int.self) }),
        ]
        for (column, attempt) in cases {
            #expect {
                try attempt()
            } throws: { error in
                guard let error = error as? PostgresError else { return false }
                return error.code == .decoding && error.message.contains("\"\(column)\"")
            }
        }
    }
}
