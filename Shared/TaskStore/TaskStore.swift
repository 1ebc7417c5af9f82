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
public struct TaskStore: Sendable {
    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    // MARK: Gateway

    /// Accepts a task for `agentID` (acceptance check, idempotency, `maxQueued`, next `seq`
    /// and insert in one atomic step), or says why not.
    public func submit(agentID: String, _ submission: TaskSubmission, limits: TaskLimits) async throws -> SubmitOutcome {
        fatalError("skeleton")
    }

    /// Accepts a task for the running agent of `pool` with the fewest unfinished tasks.
    public func submit(pool: String, _ submission: TaskSubmission, limits: TaskLimits) async throws -> SubmitOutcome {
        fatalError("skeleton")
    }

    public func fetch(taskID: String) async throws -> TaskRecord? {
        fatalError("skeleton")
    }

    /// Newest first.
    public func list(_ filter: TaskFilter) async throws -> [TaskRecord] {
        fatalError("skeleton")
    }

    /// Records a cancel: a queued task ends `cancelled` at once; a running one keeps running
    /// with the cancel recorded; a final one is answered unchanged.
    public func cancel(taskID: String) async throws -> CancelOutcome {
        fatalError("skeleton")
    }

    /// Ends `cancelled` a task still running `grace` after its cancel was recorded (its worker
    /// did not answer). Returns the task as it is now, or nil when unknown.
    public func expireCancel(taskID: String, grace: Duration) async throws -> TaskRecord? {
        fatalError("skeleton")
    }

    /// The task's events with an id greater than `after`, oldest first.
    public func events(taskID: String, after: Int, limit: Int = 1000) async throws -> [TaskEventRecord] {
        fatalError("skeleton")
    }

    // MARK: Worker

    /// The unfinished (`queued` or `running`) tasks of these agents, by agent then `seq`.
    public func unfinished(agentIDs: [String]) async throws -> [TaskRecord] {
        fatalError("skeleton")
    }

    /// Starts the next attempt of a queued task whose agent is placed on `processID`.
    public func startAttempt(taskID: String, processID: String) async throws -> AttemptStart {
        fatalError("skeleton")
    }

    /// Records how attempt `attempt` ended, only if that attempt of `processID` is still the
    /// running one (else nil: a late or fenced answer changes nothing). Applies the retry
    /// policy: a retryable failure or timeout before `max_attempts` goes back to `queued`
    /// with a backoff (`retrying`); a recorded cancel wins over everything but success.
    public func finishAttempt(taskID: String, attempt: Int, processID: String, result: AttemptResult) async throws -> TaskRecord? {
        fatalError("skeleton")
    }

    /// Appends a `progress` event of the running attempt; nil when it is no longer running.
    public func recordProgress(taskID: String, attempt: Int, processID: String, data: JSONValue) async throws -> Int? {
        fatalError("skeleton")
    }

    /// Gives a running attempt back without counting it (the worker drains): `queued` again,
    /// `attempt` - 1. False when it was no longer this worker's.
    public func handBack(taskID: String, attempt: Int, processID: String) async throws -> Bool {
        fatalError("skeleton")
    }

    /// Ends as lost (a retryable failure, "worker lost") every running attempt of the agent
    /// owned by a worker other than `hostProcessID`: the agent's new host calls it before it
    /// runs the agent's tasks.
    public func settleLostAttempts(agentID: String, hostProcessID: String) async throws -> [TaskRecord] {
        fatalError("skeleton")
    }

    /// Ends as lost every running attempt in `pool` whose owner is not among `liveProcesses`
    /// (the leader's sweep: no task stays running without a live owner).
    public func settleLostAttempts(pool: String, liveProcesses: Set<String>) async throws -> [TaskRecord] {
        fatalError("skeleton")
    }

    /// Saves the agent's checkpoint (latest wins) while the agent's row names `processID`.
    public func saveState(agentID: String, processID: String, state: JSONValue) async throws -> Bool {
        fatalError("skeleton")
    }

    /// The agent's last checkpoint, or nil.
    public func loadState(agentID: String) async throws -> JSONValue? {
        fatalError("skeleton")
    }

    /// The agent ended `failed`: its unfinished tasks fail (`"agent failed"`), in the same step.
    public func markAgentFailed(agentID: String, processID: String, reason: String) async throws {
        fatalError("skeleton")
    }

    // MARK: Manager

    /// Removes up to `limit` tasks of `pool` that finished more than `retention` ago.
    public func purgeFinished(pool: String, retention: Duration, limit: Int = 1000) async throws -> Int {
        fatalError("skeleton")
    }

    /// Unfinished tasks per status, per pool, for metrics.
    public func counts() async throws -> [String: [TaskStatus: Int]] {
        fatalError("skeleton")
    }
}
