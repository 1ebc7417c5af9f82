/// Sends concurrent writes of one kind to PostgreSQL together, as one statement: natural
/// batching ("group commit") without any timer.
///
/// A write that arrives while no earlier one waits for a connection starts a batch at once;
/// when the client has a free connection it goes out alone, so a lone caller waits no longer
/// than with a plain query. Writes that arrive while that batch still waits for a connection
/// (all connections busy) join it, and the whole batch goes out as one statement, one commit
/// and one thread-pool round trip when a connection frees.
///
/// `run` gets the inputs of one batch and returns one output per input, in the same order;
/// it decides how to write them (usually a single-row statement for one input and a set-based
/// one for several). One batch never holds two inputs with the same key: a repeated key waits
/// for the next batch, so writes to one row still apply one after the other. When `run`
/// throws, every caller of that batch gets the error; later batches are not affected.
public final class WriteCoalescer<Input: Sendable, Output: Sendable>: Sendable {
    /// Writes one batch on a connection; returns one output per input, in order.
    public typealias Run = @Sendable (PostgresConnection, [Input]) throws -> [Output]

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
    private let state = Locked(State())

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
    public var waiting: Int { state.withLock { $0.pending.count } }

    /// Writes `input` in the next batch and returns its own output. A caller cancelled while
    /// its write still waits is taken out of the batch and gets `.cancelled`; once the batch
    /// went out, the caller gets its result.
    public func submit(_ input: Input) async throws -> Output {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let key = key(input)
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

    /// Waits for a connection in a task of its own, so that no caller's cancellation stops
    /// a batch others joined.
    private func startBatch() {
        Task { await self.sendBatch() }
    }

    private func sendBatch() async {
        let progress = Locked(Progress.waiting)
        do {
            try await client.withConnection { [self] connection in
                let batch = take()
                progress.withLock { $0 = .taken(batch) }
                guard !batch.isEmpty else { return }
                let outputs = try run(connection, batch.map(\.input))
                guard outputs.count == batch.count else {
                    throw PostgresError(code: .decoding, message: "A batch of \(batch.count) writes gave \(outputs.count) results.")
                }
                progress.withLock { $0 = .answered }
                for (pending, output) in zip(batch, outputs) { pending.continuation.resume(returning: output) }
            }
        } catch {
            let failed: [Pending]
            switch progress.withLock({ $0 }) {
            case .waiting:
                // No connection (the client closed, or connects fail): every waiting write
                // would have failed the same way.
                failed = state.withLock { state in
                    state.isGathering = false
                    defer { state.pending.removeAll() }
                    return state.pending
                }
            case .taken(let batch): failed = batch
            case .answered: failed = []
            }
            for pending in failed { pending.continuation.resume(throwing: error) }
        }
    }

    /// Takes the next batch out of the waiting writes: up to `maxBatch`, one per key. When
    /// writes are left over, another batch starts for them.
    private func take() -> [Pending] {
        let (batch, more): ([Pending], Bool) = state.withLock { state in
            var keys = Set<String>()
            var batch: [Pending] = []
            var rest: [Pending] = []
            for pending in state.pending {
                if batch.count < maxBatch, keys.insert(pending.key).inserted {
                    batch.append(pending)
                } else {
                    rest.append(pending)
                }
            }
            state.pending = rest
            state.isGathering = !rest.isEmpty
            if !batch.isEmpty { state.statements += 1 }
            return (batch, !rest.isEmpty)
        }
        if more { startBatch() }
        return batch
    }

    private static var cancelledError: PostgresError {
        PostgresError(code: .cancelled, message: "Cancelled before the write was sent.")
    }
}
