import NIOCore
import PoolConfig
import PoolProtocol
import Synchronization

/// The answers of `GET /api/v1/agents/pools` and `GET /api/v1/agents/pools/{name}`, encoded,
/// from one reading of the registry that is reused for up to `maxAge`. The figures are
/// advisory and move with heartbeats (seconds), so a reading a fifth of a second old is as
/// good as a new one, and a busy dashboard or monitor costs Redis two round trips per
/// `maxAge` instead of two per request.
///
/// At most one reading runs at a time: requests that find the last one too old share the
/// next. A failed reading fails the requests that waited for it; nothing older than
/// `maxAge` is ever answered.
///
/// Read-your-writes: the gateway's own spawns and terminates call `invalidate()` when they
/// answer, so a client that reads the figures after its spawn or DELETE was answered sees
/// it counted (tests and scripts do exactly that). Changes made elsewhere (another gateway,
/// heartbeats, workers coming and going) show within `maxAge`.
final class PoolFigures: Sendable {
    /// How long a reading is answered from.
    static let maxAge: Duration = .milliseconds(200)

    /// One reading, encoded.
    struct Snapshot: Sendable {
        /// The list answer: every pool, without workers.
        let list: ByteBuffer
        /// Each pool's own answer, with its workers, by pool name.
        let details: [String: ByteBuffer]
        /// When the reading started, so that its age is never understated.
        let startedAt: ContinuousClock.Instant
        /// The `invalidate()` count it was started under; it is answered only while that holds.
        let generation: Int
    }

    private struct State {
        var generation = 0
        var snapshot: Snapshot?
        var reading: (generation: Int, task: Task<Snapshot, any Error>)?
    }

    private enum Next {
        case ready(Snapshot)
        case wait(Task<Snapshot, any Error>)
    }

    private let pools: [PoolDefinition]
    private let reader: RegistryReader
    private let state = Mutex(State())

    init(pools: [PoolDefinition], reader: RegistryReader) {
        self.pools = pools
        self.reader = reader
    }

    /// A snapshot no older than `maxAge` and taken after the last `invalidate()`.
    func current() async throws -> Snapshot {
        let now = ContinuousClock.now
        let next: Next = state.withLock { state in
            if let snapshot = state.snapshot, snapshot.generation == state.generation, now - snapshot.startedAt < Self.maxAge {
                return .ready(snapshot)
            }
            if let reading = state.reading, reading.generation == state.generation { return .wait(reading.task) }
            let generation = state.generation
            // Unstructured, so that a waiting request that is cancelled does not cancel the
            // reading the others share.
            let task = Task { try await self.read(generation: generation, startedAt: now) }
            state.reading = (generation, task)
            return .wait(task)
        }
        switch next {
        case .ready(let snapshot): return snapshot
        case .wait(let task): return try await task.value
        }
    }

    /// The registry changed in a way a client may look for at once (this gateway answered a
    /// spawn or terminate): the next request reads again.
    func invalidate() {
        state.withLock { $0.generation += 1 }
    }

    private func read(generation: Int, startedAt: ContinuousClock.Instant) async throws -> Snapshot {
        do {
            let readings = try await reader.read(pools)
            let snapshot = Snapshot(
                list: JSONResponse.encode(readings.map { $0.stats(includeWorkers: false) }),
                details: Dictionary(uniqueKeysWithValues: readings.map { ($0.definition.name, JSONResponse.encode($0.stats(includeWorkers: true))) }),
                startedAt: startedAt, generation: generation)
            state.withLock { state in
                if state.reading?.generation == generation { state.reading = nil }
                if snapshot.generation == state.generation { state.snapshot = snapshot }
            }
            return snapshot
        } catch {
            state.withLock { state in
                if state.reading?.generation == generation { state.reading = nil }
            }
            throw error
        }
    }
}
