import Synchronization

/// Sends concurrent writes of one kind to PostgreSQL together, as one statement: natural
/// batching ("group commit") without any timer.
///
/// A write that arrives while no earlier one waits for a connection leads a batch: its own
/// task asks for a connection, and when the client has a free one the write goes out alone,
/// so a lone caller pays nothing over a plain query (no extra task, no extra hop; measured,
/// a task per batch cost a sequential spawn about 0.7 ms). Writes that arrive while the
/// leader still waits for a connection (all connections busy) join it, and the whole batch
/// goes out as one statement, one commit and one round trip when a connection frees.
///
/// `run` gets the inputs of one batch and returns one output per input, in the same order;
/// it decides how to write them (usually a single-row statement for one input and a set-based
/// one for several). One batch never holds two inputs with the same key: a repeated key waits
/// for the next batch, so writes to one row still apply one after the other. When `run`
/// throws, every caller of that batch gets the error; later batches are not affected.
public final class WriteCoalescer<Input: Sendable, Output: Sendable>: Sendable {
    /// Writes one batch on a connection; returns one output per input, in order.
    public typealias Run = @Sendable (PostgresConnection, [Input]) async throws -> [Output]

    private struct Pending: Sendable {
        let id: Int
        let key: String
        let input: Input
        let continuation: CheckedContinuation<Output, any Error>
    }

    private struct State: Sendable {
        var pending: [Pending] = []
        /// Whether a batch is waiting for a connection; new writes join it.
        var isGathering = false
        /// Leaders whose own write waits for a connection (they are not in `pending`).
        var waitingLeaders = 0
        var nextID = 0
        var statements = 0
    }

    /// Where a batch is, for its failure handling.
    private enum Progress: Sendable {
        case waiting
        case taken([Pending])
        case answered
    }

    private let client: PostgresClient
    private let maxBatch: Int
    private let key: @Sendable (Input) -> String
    private let run: Run
    private let state = Mutex(State())

    /// A coalescer writing through `client`. `key` names the row an input writes (a repeated
    /// key goes to a later batch); a batch holds at most `maxBatch` inputs.
    public init(client: PostgresClient, maxBatch: Int = 256, key: @escaping @Sendable (Input) -> String, run: @escaping Run) {
        precondition(maxBatch >= 1, "a batch holds at least one write")
        self.client = client
        self.maxBatch = maxBatch
        self.key = key
        self.run = run
    }

    /// How many batches (statements, one per batch) went out so far.
    public var statements: Int { state.withLock { $0.statements } }

    /// How many writes wait for their batch to go out.
    public var waiting: Int { state.withLock { $0.pending.count + $0.waitingLeaders } }

    /// Writes `input` in the next batch and returns its own output. A caller cancelled while
    /// its write still waits is taken out of the batch and gets `.cancelled`; once the batch
    /// went out, the caller gets its result.
    public func submit(_ input: Input) async throws -> Output {
        let key = key(input)
        let (id, leads) = state.withLock { state in
            defer { state.nextID += 1 }
            guard !state.isGathering else { return (state.nextID, false) }
            state.isGathering = true
            state.waitingLeaders += 1
            return (state.nextID, true)
        }
        if leads { return try await lead(input, key: key) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Output, any Error>) in
                let start: Bool? = state.withLock { state in
                    // Checked under the lock, which the cancel handler takes too.
                    if Task.isCancelled { return nil }
                    state.pending.append(Pending(id: id, key: key, input: input, continuation: continuation))
                    if state.isGathering { return false }
                    state.isGathering = true
                    return true
                }
                switch start {
                case nil: continuation.resume(throwing: Self.cancelledError)
                case true?: startBatch()
                case false?: break
                }
            }
        } onCancel: {
            let removed = state.withLock { state -> Pending? in
                guard let index = state.pending.firstIndex(where: { $0.id == id }) else { return nil }
                return state.pending.remove(at: index)
            }
            removed?.continuation.resume(throwing: Self.cancelledError)
        }
    }

    /// Sends the leader's write with whatever joined it while it waited for a connection,
    /// on the leader's own task.
    private func lead(_ input: Input, key: String) async throws -> Output {
        guard let output = try await send(leader: (input, key)) else {
            throw PostgresError(code: .decoding, message: "A batch gave no result for its first write.")
        }
        return output
    }

    /// Sends the writes left over from a batch in a task of its own, so that no caller's
    /// cancellation stops a batch others joined.
    private func startBatch() {
        Task { _ = try? await self.send(leader: nil) }
    }

    /// Waits for a connection, takes the waiting writes (after the leader's own, if any) and
    /// writes them as one batch; answers the joined writes and returns the leader's output.
    private func send(leader: (input: Input, key: String)?) async throws -> Output? {
        let progress = Mutex(Progress.waiting)
        do {
            return try await client.withConnection { [self] connection -> Output? in
                let joined = take(besides: leader?.key)
                progress.withLock { $0 = .taken(joined) }
                // A closure, not `\.input`: in generic code a key path is built anew on each call.
                let inputs = (leader.map { [$0.input] } ?? []) + joined.map { $0.input }
                guard !inputs.isEmpty else { return nil }
                // Once sent, a batch finishes even if the leader's task is cancelled: it carries
                // other callers' writes (see `submit`).
                connection.ignoresCancellation = true
                defer { connection.ignoresCancellation = false }
                let outputs = try await run(connection, inputs)
                guard outputs.count == inputs.count else {
                    throw PostgresError(code: .decoding, message: "A batch of \(inputs.count) writes gave \(outputs.count) results.")
                }
                progress.withLock { $0 = .answered }
                let joinedOutputs = outputs.dropFirst(leader == nil ? 0 : 1)
                for (pending, output) in zip(joined, joinedOutputs) { pending.continuation.resume(returning: output) }
                return leader == nil ? nil : outputs[0]
            }
        } catch {
            switch progress.withLock({ $0 }) {
            case .taken(let joined):
                // The batch failed: the writes that joined it share the error.
                for pending in joined { pending.continuation.resume(throwing: error) }
            case .answered:
                break
            case .waiting:
                if leader != nil { state.withLock { $0.waitingLeaders -= 1 } }
                if leader != nil, (error as? PostgresError)?.code == .cancelled {
                    // Only the leader was cancelled while waiting: the writes that joined it go on.
                    let orphaned = state.withLock { state -> Bool in
                        state.isGathering = !state.pending.isEmpty
                        return state.isGathering
                    }
                    if orphaned { startBatch() }
                } else {
                    // No connection (the client closed, or connects fail): every waiting write
                    // would fail the same way.
                    failWaiting(with: error)
                }
            }
            throw error
        }
    }

    /// Fails every write still waiting for its batch.
    private func failWaiting(with error: any Error) {
        let failed = state.withLock { state in
            state.isGathering = false
            defer { state.pending.removeAll() }
            return state.pending
        }
        for pending in failed { pending.continuation.resume(throwing: error) }
    }

    /// Takes the next batch out of the waiting writes: up to `maxBatch`, one per key (a
    /// leader's own write counts as `besides`). When writes are left over, another batch
    /// starts for them.
    private func take(besides leaderKey: String? = nil) -> [Pending] {
        let (batch, more): ([Pending], Bool) = state.withLock { state in
            var keys = Set<String>()
            if let leaderKey {
                keys.insert(leaderKey)
                state.waitingLeaders -= 1
            }
            let room = leaderKey == nil ? maxBatch : maxBatch - 1
            var batch: [Pending] = []
            var rest: [Pending] = []
            for pending in state.pending {
                if batch.count < room, keys.insert(pending.key).inserted {
                    batch.append(pending)
                } else {
                    rest.append(pending)
                }
            }
            state.pending = rest
            state.isGathering = !rest.isEmpty
            if !batch.isEmpty || leaderKey != nil { state.statements += 1 }
            return (batch, !rest.isEmpty)
        }
        if more { startBatch() }
        return batch
    }

    private static var cancelledError: PostgresError {
        PostgresError(code: .cancelled, message: "Cancelled before the write was sent.")
    }
}
