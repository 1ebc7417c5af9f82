import Postgres
import Testing
import TestSupport

/// `WriteCoalescer` on the real database through PgBouncer: writes that wait for a
/// connection share one statement, each caller gets its own result, and a lone write goes
/// out at once. Statements are counted, never timed.
@Suite struct WriteCoalescerTests {
    /// Doubles each number in one statement per batch; a 0 divides by zero, failing its batch.
    static func doubler(_ client: PostgresClient) -> WriteCoalescer<Int, Int> {
        WriteCoalescer(client: client, key: { String($0) }) { connection, numbers in
            let list = "{" + numbers.map(String.init).joined(separator: ",") + "}"
            let result = try await connection.query(
                "SELECT n, n * 2 / n * n AS doubled FROM unnest($1::int[]) WITH ORDINALITY AS v(n, position) ORDER BY position",
                [list])
            return try result.rows.map { try $0.decode("doubled") }
        }
    }

    @Test("50 writes waiting for the only connection go out as one statement, each answered with its own result")
    func waitingWritesShareOneStatement() async throws {
        try await TestDatabase.withClient(poolSize: 1) { client in
            let coalescer = Self.doubler(client)
            let blocker = try await ConnectionBlocker(client)
            let results = Task {
                try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                    for number in 1...50 { group.addTask { (number, try await coalescer.submit(number)) } }
                    return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
                }
            }
            try await Poll.until("50 writes wait") { coalescer.waiting == 50 }
            try await blocker.release()
            let doubled = try await results.value
            print("WriteCoalescer: 50 callers waiting for the connection -> \(coalescer.statements) statement(s)")
            #expect(doubled == Dictionary(uniqueKeysWithValues: (1...50).map { ($0, $0 * 2) }))
            #expect(coalescer.statements == 1)
            #expect(coalescer.waiting == 0)
        }
    }

    @Test("sequential writes go out one by one, each as soon as it is made")
    func sequentialWritesGoOutAlone() async throws {
        try await TestDatabase.withClient(poolSize: 3) { client in
            let coalescer = Self.doubler(client)
            for number in 1...5 {
                let doubled = try await coalescer.submit(number)
                #expect(doubled == number * 2)
                #expect(coalescer.statements == number)
            }
        }
    }

    @Test("an error fails every caller of its batch, and the next batch works")
    func errorFailsItsBatchOnly() async throws {
        try await TestDatabase.withClient(poolSize: 1) { client in
            let coalescer = Self.doubler(client)
            let blocker = try await ConnectionBlocker(client)
            let outcomes = Task {
                await withTaskGroup(of: PostgresError?.self) { group in
                    for number in [3, 0, 7] {
                        group.addTask {
                            do {
                                _ = try await coalescer.submit(number)
                                return nil
                            } catch {
                                return error as? PostgresError
                            }
                        }
                    }
                    return await group.reduce(into: [PostgresError?]()) { $0.append($1) }
                }
            }
            try await Poll.until("3 writes wait") { coalescer.waiting == 3 }
            try await blocker.release()
            let errors = await outcomes.value
            #expect(errors.count == 3)
            #expect(errors.allSatisfy { $0?.sqlState == "22012" }, "every caller gets the division by zero: \(errors)")
            #expect(coalescer.statements == 1)
            #expect(try await coalescer.submit(4) == 8)
            #expect(coalescer.statements == 2)
        }
    }

    @Test("a repeated key waits for the next batch, so writes to one row stay in order")
    func repeatedKeyGoesToNextBatch() async throws {
        try await TestDatabase.withClient(poolSize: 1) { client in
            let coalescer = Self.doubler(client)
            let blocker = try await ConnectionBlocker(client)
            let results = Task {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for number in [5, 5, 6] { group.addTask { try await coalescer.submit(number) } }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
            }
            try await Poll.until("3 writes wait") { coalescer.waiting == 3 }
            try await blocker.release()
            #expect(try await results.value.sorted() == [10, 10, 12])
            #expect(coalescer.statements == 2)
        }
    }

    @Test("a caller cancelled while its write waits leaves the batch; the others are answered")
    func cancelledWriteLeavesTheBatch() async throws {
        try await TestDatabase.withClient(poolSize: 1) { client in
            let coalescer = Self.doubler(client)
            let blocker = try await ConnectionBlocker(client)
            let kept = Task { try await coalescer.submit(1) }
            let cancelled = Task { try await coalescer.submit(2) }
            try await Poll.until("2 writes wait") { coalescer.waiting == 2 }
            cancelled.cancel()
            try await Poll.until("the cancelled write left") { coalescer.waiting == 1 }
            await #expect(throws: PostgresError.self) { try await cancelled.value }
            try await blocker.release()
            #expect(try await kept.value == 2)
            #expect(coalescer.statements == 1)
        }
    }
}
