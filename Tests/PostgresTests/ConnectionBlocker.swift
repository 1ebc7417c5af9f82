import Postgres
import Synchronization
import Testing
import TestSupport

/// Holds connections of a client busy until released, so that writes submitted meanwhile
/// must wait for a connection (and so batch) whatever the machine's speed.
final class ConnectionBlocker: Sendable {
    private let started = Atomic<Int>(0)
    private let released = Atomic<Bool>(false)
    private let tasks: Mutex<[Task<Void, any Error>]> = Mutex([])

    /// Takes `count` connections of `client` (its whole pool, usually) and returns once they
    /// are all held.
    init(_ client: PostgresClient, count: Int = 1) async throws {
        for _ in 0..<count {
            let task = Task { [self] in
                try await client.withConnection { [self] connection in
                    started.add(1, ordering: .sequentiallyConsistent)
                    while !released.load(ordering: .sequentiallyConsistent) {
                        try await connection.query("SELECT pg_sleep(0.005)")
                    }
                }
            }
            tasks.withLock { $0.append(task) }
        }
        try await Poll.until("the blocker holds \(count) connection(s)") {
            started.load(ordering: .sequentiallyConsistent) == count
        }
    }

    /// Frees the connections and waits until they are back.
    func release() async throws {
        released.store(true, ordering: .sequentiallyConsistent)
        for task in tasks.withLock({ $0 }) { try await task.value }
    }
}
