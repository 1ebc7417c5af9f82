#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Postgres
import PoolProtocol

/// The `tasks` and `task_events` tables: the truth about every task (contract section 5).
/// Every write is one statement (or one function call) that also appends the event it
/// causes, committed synchronously before it returns; writes conditional on an attempt and
/// its owner apply at most once, so one outcome sticks.
///
/// The steps that must be atomic beyond one row are plpgsql functions of the schema
/// (`AgentSchema.tasksMigration`): each of their statements takes a fresh snapshot after the
/// locks before it, which one SQL statement could not. Ids that are not UUIDs never reach
/// PostgreSQL (they would be a cast error): they answer "not found" in each call's own terms.
public struct TaskStore: Sendable {
    public let client: PostgresClient
    private let progress: WriteCoalescer<ProgressWrites.Write, Int?>
    private let starts: WriteCoalescer<AttemptWrites.Start, Result<AttemptStart, any Error>>
    private let finishes: WriteCoalescer<AttemptWrites.Finish, Result<TaskRecord?, any Error>>
    private let submits: WriteCoalescer<SubmitWrites.Submit, Result<SubmitWrites.Answer, any Error>>
    private let submitFallbacks = BatchFallbacks()

    public init(client: PostgresClient) {
        self.client = client
        self.progress = ProgressWrites.coalescer(client)
        self.starts = AttemptWrites.starts(client)
        self.finishes = AttemptWrites.finishes(client)
        self.submits = SubmitWrites.coalescer(client)
    }

    /// How many statements `recordProgress` sent so far (fewer than calls under load).
    public var progressStatements: Int { progress.statements }

    /// How many `recordProgress` calls wait for their batch to go out now.
    public var progressWaiting: Int { progress.waiting }

    /// How many statements `startAttempt` sent so far (fewer than calls under load).
    public var startStatements: Int { starts.statements }

    /// How many statements `finishAttempt` sent so far (fewer than calls under load), besides
    /// the outcomes too large or deep to share one, which go alone.
    public var finishStatements: Int { finishes.statements }

    /// How many `startAttempt` and `finishAttempt` calls wait for their batch to go out now.
    public var attemptsWaiting: Int { starts.waiting + finishes.waiting }

    /// How many statements `submit(agentID:)` without an idempotency key sent so far: its
    /// batches, plus the submits a batch found busy and ran alone (fewer than calls under load).
    public var agentSubmitStatements: Int { submits.statements + submitFallbacks.value }

    /// How many `submit(agentID:)` calls wait for their batch to go out now.
    public var agentSubmitsWaiting: Int { submits.waiting }

    // MARK: Gateway

    /// Accepts a task for `agentID` (acceptance check, idempotency, `maxQueued`, next `seq`
    /// and insert in one atomic step), or says why not.
    public func submit(agentID: String, _ submission: TaskSubmission, limits: TaskLimits) async throws -> SubmitOutcome {
        if let problem = submission.problem(limits: limits) { throw TaskStoreError(.invalidSubmission, problem) }
        guard let agentID = Identifier.canonical(agentID) else { return .agentNotFound }
        let input = try TaskJSON.encode(submission.input)
        guard submission.idempotencyKey == nil, Self.batchableJSON(bytes: input.utf8.count, submission.input) else {
            return try await submit(function: "agentpool_submit_to_agent", target: agentID, submission, limits: limits)
        }
        let submit = SubmitWrites.Submit(
            agentID: agentID, taskID: Identifier.make(), input: input, timeout: submission.resolvedTimeout(limits),
            maxAttempts: submission.resolvedMaxAttempts(limits), maxQueued: min(max(limits.maxQueued, 0), Int(Int32.max)))
        switch try await submits.submit(submit).get() {
        case .decided(let outcome):
            return outcome
        case .busy:
            // The batch could not take the agent's row without waiting: alone, it may wait.
            submitFallbacks.add()
            let result = try await client.query(SubmitWrites.singleSQL, SubmitWrites.singleParameters(submit))
            let row = result.rows.first
            return try SubmitWrites.outcome(row?["outcome"], row: row)
        }
    }

    /// Accepts a task for the running agent of `pool` with the fewest unfinished tasks.
    public func submit(pool: String, _ submission: TaskSubmission, limits: TaskLimits) async throws -> SubmitOutcome {
        if let problem = submission.problem(limits: limits) { throw TaskStoreError(.invalidSubmission, problem) }
        return try await submit(function: "agentpool_submit_to_pool", target: pool, submission, limits: limits)
    }

    public func fetch(taskID: String) async throws -> TaskRecord? {
        guard let taskID = Identifier.canonical(taskID) else { return nil }
        let result = try await client.query("SELECT \(TaskRecord.columns) FROM tasks WHERE task_id = $1::uuid", [taskID])
        return try result.rows.first.map(TaskRecord.init(row:))
    }

    /// Newest first.
    public func list(_ filter: TaskFilter) async throws -> [TaskRecord] {
        var conditions: [String] = []
        var parameters: [(any PostgresEncodable)?] = []
        func parameter(_ value: any PostgresEncodable) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if let agentID = filter.agentID {
            guard let agentID = Identifier.canonical(agentID) else { return [] }
            conditions.append("agent_id = \(parameter(agentID))::uuid")
        }
        if let pool = filter.pool { conditions.append("pool_name = \(parameter(pool))") }
        if let status = filter.status { conditions.append("status = \(parameter(status.rawValue))") }
        if let before = filter.before {
            // Strictly older in the listing's order; an unknown id compares as NULL: no rows.
            guard let before = Identifier.canonical(before) else { return [] }
            conditions.append(
                "(created_at, task_id) < (SELECT b.created_at, b.task_id FROM tasks AS b WHERE b.task_id = \(parameter(before))::uuid)")
        }
        let limit = parameter(min(max(filter.limit, 1), 1000))
        let condition = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let result = try await client.query(
            "SELECT \(TaskRecord.columns) FROM tasks \(condition) ORDER BY created_at DESC, task_id DESC LIMIT \(limit)",
            parameters)
        return try result.rows.map(TaskRecord.init(row:))
    }

    /// Records a cancel: a queued task ends `cancelled` at once; a running one keeps running
    /// with the cancel recorded; a final one is answered unchanged.
    public func cancel(taskID: String) async throws -> CancelOutcome {
        guard let taskID = Identifier.canonical(taskID) else { return .notFound }
        let result = try await client.query("SELECT r.outcome, (r.task).* FROM agentpool_task_cancel($1::uuid) AS r", [taskID])
        let (outcome, row) = try Self.outcomeRow(result)
        switch outcome {
        case "not_found": return .notFound
        case "final": return .final(try TaskRecord(row: row))
        case "requested": return .requested(try TaskRecord(row: row))
        default: throw TaskStoreError(.unreadable, "cancel answered an unknown outcome")
        }
    }

    /// Ends `cancelled` a task still running `grace` after its cancel was recorded (its worker
    /// did not answer). Returns the task as it is now, or nil when unknown.
    public func expireCancel(taskID: String, grace: Duration) async throws -> TaskRecord? {
        guard let taskID = Identifier.canonical(taskID) else { return nil }
        let result = try await client.query(
            "SELECT \(TaskRecord.columns) FROM agentpool_task_expire_cancel($1::uuid, $2::float8)",
            [taskID, Self.seconds(grace)])
        return try result.rows.first.map(TaskRecord.init(row:))
    }

    /// The task's events with an id greater than `after`, oldest first.
    public func events(taskID: String, after: Int, limit: Int = 1000) async throws -> [TaskEventRecord] {
        guard let taskID = Identifier.canonical(taskID) else { return [] }
        let result = try await client.query(
            "SELECT \(TaskEventRecord.columns) FROM task_events WHERE task_id = $1::uuid AND id > $2 ORDER BY id LIMIT $3",
            [taskID, min(max(after, -1), Int(Int32.max)), min(max(limit, 1), 1000)])
        return try result.rows.map(TaskEventRecord.init(row:))
    }

    // MARK: Worker

    /// The unfinished (`queued` or `running`) tasks of these agents, by agent then `seq`.
    public func unfinished(agentIDs: [String]) async throws -> [TaskRecord] {
        let ids = agentIDs.compactMap(Identifier.canonical)
        guard !ids.isEmpty else { return [] }
        let result = try await client.query(
            """
            SELECT \(TaskRecord.columns) FROM tasks
            WHERE agent_id = ANY($1::uuid[]) AND status IN ('queued', 'running')
            ORDER BY agent_id, seq
            """,
            [Self.uuidArray(ids)])
        return try result.rows.map(TaskRecord.init(row:))
    }

    /// Starts the next attempt of a queued task whose agent is placed on `processID`.
    public func startAttempt(taskID: String, processID: String) async throws -> AttemptStart {
        guard let taskID = Identifier.canonical(taskID), let processID = Identifier.canonical(processID) else {
            return .notStartable
        }
        return try await starts.submit(AttemptWrites.Start(taskID: taskID, processID: processID)).get()
    }

    /// Records how attempt `attempt` ended, only if that attempt of `processID` is still the
    /// running one (else nil: a late or fenced answer changes nothing). Applies the retry
    /// policy: a retryable failure or timeout before `max_attempts` goes back to `queued`
    /// with a backoff (`retrying`); a recorded cancel wins over everything but success.
    ///
    /// NUL characters in the output or the error's message are stored as U+FFFD (`jsonb`
    /// cannot hold them), so that every answer records an outcome.
    public func finishAttempt(taskID: String, attempt: Int, processID: String, result: AttemptResult) async throws -> TaskRecord? {
        guard let taskID = Identifier.canonical(taskID), let processID = Identifier.canonical(processID),
              let attempt = Int32(exactly: attempt)
        else { return nil }
        let kind: String
        var output: String?
        var error: String?
        switch result {
        case .succeeded(let value):
            kind = "succeeded"
            output = try TaskJSON.encodeStorable(value)
        case .failed(let failure):
            kind = "failed"
            error = try TaskJSON.encode(failure)
        case .timedOut: kind = "timed_out"
        case .cancelled: kind = "cancelled"
        }
        guard AttemptWrites.finishBatchable(result, output: output, error: error) else {
            return try await outcome(taskID: taskID, attempt: Int(attempt), owner: processID, kind: kind, output: output, error: error)
        }
        let finish = AttemptWrites.Finish(taskID: taskID, attempt: Int(attempt), owner: processID, kind: kind, output: output, error: error)
        return try await finishes.submit(finish).get()
    }

    /// Appends a `progress` event of the running attempt; nil when it is no longer running.
    public func recordProgress(taskID: String, attempt: Int, processID: String, data: JSONValue) async throws -> Int? {
        guard let taskID = Identifier.canonical(taskID), let processID = Identifier.canonical(processID),
              let attempt = Int32(exactly: attempt)
        else { return nil }
        let data = TaskJSON.storable(data)
        _ = try TaskJSON.encode(data)  // a value JSON cannot hold fails its own caller, never a batch
        return try await progress.submit(ProgressWrites.Write(taskID: taskID, attempt: Int(attempt), owner: processID, data: data))
    }

    /// Gives a running attempt back without counting it (the worker drains): `queued` again,
    /// `attempt` - 1. False when it was no longer this worker's.
    public func handBack(taskID: String, attempt: Int, processID: String) async throws -> Bool {
        guard let taskID = Identifier.canonical(taskID), let processID = Identifier.canonical(processID),
              let attempt = Int32(exactly: attempt)
        else { return false }
        let result = try await client.query(
            """
            WITH back AS (
                UPDATE tasks SET status = 'queued', attempt = tasks.attempt - 1, owner = NULL, not_before = NULL,
                    started_at = CASE WHEN tasks.attempt = 1 THEN NULL ELSE tasks.started_at END,
                    updated_at = now(), event_seq = tasks.event_seq + 1
                WHERE tasks.task_id = $1::uuid AND tasks.status = 'running' AND tasks.attempt = $2::int
                    AND tasks.owner = $3::uuid
                RETURNING tasks.task_id, tasks.event_seq, tasks.attempt
            )
            INSERT INTO task_events (task_id, id, event, data)
            SELECT back.task_id, back.event_seq, 'queued', jsonb_build_object('attempt', back.attempt, 'reason', 'handed over')
            FROM back
            RETURNING id
            """,
            [taskID, Int(attempt), processID])
        return !result.rows.isEmpty
    }

    /// Ends as lost (a retryable failure, "worker lost") every running attempt of the agent
    /// owned by a worker other than `hostProcessID`: the agent's new host calls it before it
    /// runs the agent's tasks.
    public func settleLostAttempts(agentID: String, hostProcessID: String) async throws -> [TaskRecord] {
        guard let agentID = Identifier.canonical(agentID), let host = Identifier.canonical(hostProcessID) else { return [] }
        let lost = try await client.query(
            """
            SELECT task_id, attempt, owner FROM tasks
            WHERE agent_id = $1::uuid AND status = 'running' AND owner <> $2::uuid
            ORDER BY seq
            """,
            [agentID, host])
        return try await settle(lost)
    }

    /// Ends as lost every running attempt in `pool` whose owner is not among `liveProcesses`
    /// (the leader's sweep: no task stays running without a live owner). Attempts started
    /// within `sparing` are left alone: their worker may have joined after the caller read
    /// the registry.
    public func settleLostAttempts(
        pool: String, liveProcesses: Set<String>, sparing recent: Duration = .seconds(5)
    ) async throws -> [TaskRecord] {
        let live = liveProcesses.compactMap(Identifier.canonical)
        let lost = try await client.query(
            """
            SELECT task_id, attempt, owner FROM tasks
            WHERE pool_name = $1 AND status = 'running' AND owner <> ALL($2::uuid[])
                AND started_at <= now() - make_interval(secs => $3::float8)
            ORDER BY created_at, task_id
            """,
            [pool, Self.uuidArray(live), Self.seconds(recent)])
        return try await settle(lost)
    }

    /// Saves the agent's checkpoint (latest wins) while the agent's row names `processID`.
    /// NUL characters are stored as U+FFFD (`jsonb` cannot hold them).
    public func saveState(agentID: String, processID: String, state: JSONValue) async throws -> Bool {
        guard let agentID = Identifier.canonical(agentID), let processID = Identifier.canonical(processID) else { return false }
        let result = try await client.query(
            "UPDATE agents SET state = $3::jsonb, state_updated_at = now() WHERE id = $1::uuid AND process_id = $2::uuid",
            [agentID, processID, try TaskJSON.encodeStorable(state)])
        return result.affectedRows == 1
    }

    /// The agent's last checkpoint, or nil.
    public func loadState(agentID: String) async throws -> JSONValue? {
        guard let agentID = Identifier.canonical(agentID) else { return nil }
        let result = try await client.query("SELECT state FROM agents WHERE id = $1::uuid", [agentID])
        return try result.rows.first?.decodeIfPresent("state", as: String.self).map { try TaskJSON.decode($0, column: "state") }
    }

    /// The agent ended `failed`: its unfinished tasks fail (`"agent failed"`), in the same step.
    /// Only while the agent's row names `processID` or no worker, and has not ended already.
    public func markAgentFailed(agentID: String, processID: String, reason: String) async throws {
        guard let agentID = Identifier.canonical(agentID), let processID = Identifier.canonical(processID) else { return }
        try await client.query(
            "SELECT agentpool_fail_agent($1::uuid, $2::uuid, $3::text)", [agentID, processID, TaskJSON.replacingNUL(reason)])
    }

    // MARK: Manager

    /// Removes up to `limit` tasks of `pool` that finished more than `retention` ago.
    public func purgeFinished(pool: String, retention: Duration, limit: Int = 1000) async throws -> Int {
        let result = try await client.query(
            """
            WITH doomed AS (
                SELECT task_id FROM tasks
                WHERE pool_name = $1 AND finished_at IS NOT NULL
                    AND finished_at < now() - make_interval(secs => $2::float8)
                ORDER BY finished_at
                LIMIT $3
                FOR UPDATE SKIP LOCKED
            ),
            gone AS (DELETE FROM tasks USING doomed WHERE tasks.task_id = doomed.task_id RETURNING 1)
            SELECT count(*) AS removed FROM gone
            """,
            [pool, Self.seconds(retention), max(limit, 0)])
        return try result.rows.first?.decode("removed", as: Int.self) ?? 0
    }

    /// Unfinished tasks per status, per pool, for metrics. A pool with unfinished tasks has
    /// both `queued` and `running` (0 when none); a pool without is absent.
    public func counts() async throws -> [String: [TaskStatus: Int]] {
        let result = try await client.query(
            "SELECT pool_name, status, count(*) AS tasks FROM tasks WHERE status IN ('queued', 'running') GROUP BY pool_name, status")
        var counts: [String: [TaskStatus: Int]] = [:]
        for row in result.rows {
            let pool: String = try row.decode("pool_name")
            guard let status = TaskStatus(rawValue: try row.decode("status")) else { continue }
            counts[pool, default: [.queued: 0, .running: 0]][status] = try row.decode("tasks", as: Int.self)
        }
        return counts
    }
}

extension TaskStore {
    /// One submit function of the schema, for `target` (the agent or the pool), of a
    /// submission `TaskSubmission.problem` found fine.
    private func submit(function: String, target: String, _ submission: TaskSubmission, limits: TaskLimits) async throws -> SubmitOutcome {
        let result = try await client.query(
            """
            SELECT r.outcome, (r.task).*
            FROM \(function)($1, $2::uuid, $3::jsonb, $4::float8, $5::int, $6::text, $7::int) AS r
            """,
            [
                target, Identifier.make(), try TaskJSON.encode(submission.input), submission.resolvedTimeout(limits),
                submission.resolvedMaxAttempts(limits), submission.idempotencyKey,
                min(max(limits.maxQueued, 0), Int(Int32.max)),
            ])
        let row = result.rows.first
        return try SubmitWrites.outcome(row?["outcome"], row: row)
    }

    /// `agentpool_task_outcome`: the attempt's end, if it is still the running one.
    private func outcome(taskID: String, attempt: Int, owner: String, kind: String, output: String?, error: String?) async throws -> TaskRecord? {
        let finish = AttemptWrites.Finish(taskID: taskID, attempt: attempt, owner: owner, kind: kind, output: output, error: error)
        let result = try await client.query(AttemptWrites.finishSQL, AttemptWrites.finishParameters(finish))
        return try result.rows.first.map(TaskRecord.init(row:))
    }

    /// Ends each attempt of `lost` (rows of task_id, attempt, owner) as a retryable failure,
    /// one statement each (so no statement holds two tasks' locks), if it is still that
    /// attempt of that owner. Returns the tasks it changed.
    private func settle(_ lost: PostgresResult) async throws -> [TaskRecord] {
        let error = try TaskJSON.encode(TaskFailure.workerLost())
        var settled: [TaskRecord] = []
        for row in lost.rows {
            let record = try await outcome(
                taskID: try row.decode("task_id"), attempt: try row.decode("attempt"), owner: try row.decode("owner"),
                kind: "failed", output: nil, error: error)
            if let record { settled.append(record) }
        }
        return settled
    }

    /// The `outcome` column and the row of a function returning `(outcome text, task tasks)`.
    private static func outcomeRow(_ result: PostgresResult) throws -> (String, PostgresRow) {
        guard let row = result.rows.first, let outcome = row["outcome"] else {
            throw TaskStoreError(.unreadable, "a task function returned no outcome")
        }
        return (outcome, row)
    }

    /// `{a,b,c}`: canonical UUIDs need no quoting in an array literal.
    static func uuidArray(_ ids: [String]) -> String {
        "{" + ids.joined(separator: ",") + "}"
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
