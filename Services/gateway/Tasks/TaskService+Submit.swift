import AgentStore
import Logging
import Registry
import PoolConfig
import PoolCore
import PoolProtocol
import TaskStore

/// Where a submit sends its task.
enum SubmitTarget: Sendable {
    case agent(String)
    case pool(PoolDefinition)
}

extension TaskService {
    /// Accepts a task, hands it to its agent's stream, and waits up to `wait` for it to end.
    /// Throws the API error of a refusal (404, 409, 429, 503), in the contract's order: the
    /// store decides them in one atomic step.
    func submit(_ request: TaskRequest, to target: SubmitTarget, idempotencyKey: String?, wait: Duration?) async throws -> TaskRecord {
        let started = ContinuousClock.now
        let submission = request.submission(idempotencyKey: idempotencyKey)
        return try await bounded(within: answerLimit(waiting: wait), submitting: true) { latest in
            let task: TaskRecord
            switch try await accept(submission, to: target) {
            case .accepted(let accepted):
                latest.record(accepted)
                await enqueue(accepted)
                task = accepted
            case .replayed(let first):
                latest.record(first)
                task = first
            case .keyConflict: throw TaskErrors.keyConflict
            case .agentNotFound:
                if case .agent(let id) = target { throw TaskErrors.agentNotFound(id) }
                throw TaskErrors.agentNotRunning
            case .agentNotRunning: throw TaskErrors.agentNotRunning
            case .queueFull: throw TaskErrors.queueFull
            case .noRunningAgent:
                guard case .pool(let pool) = target else { throw TaskErrors.agentNotRunning }
                throw TaskErrors.noRunningAgent(pool.name)
            }
            guard let wait else { return task }
            return await watcher.watching(task.taskID) {
                await watcher.awaitFinal(task, until: started + wait, latest: latest)
            }
        }
    }

    /// The store's verdict, with the limits of the pool the task goes to. A submission the
    /// store refuses outright is the client's mistake (422), never a 500.
    private func accept(_ submission: TaskSubmission, to target: SubmitTarget) async throws -> SubmitOutcome {
        do {
            return try await verdict(submission, to: target)
        } catch let error as TaskStoreError where error.code == .invalidSubmission {
            throw TaskErrors.invalidRequest("The task cannot be accepted: \(error.message).")
        }
    }

    private func verdict(_ submission: TaskSubmission, to target: SubmitTarget) async throws -> SubmitOutcome {
        switch target {
        case .pool(let pool):
            return try await store.submit(pool: pool.name, submission, limits: Self.limits(pool.tasks))
        case .agent(let agentID):
            if let settings = uniformSettings {
                // Every pool has the same task settings: no need to read the agent's pool first.
                return try await store.submit(agentID: agentID, submission, limits: Self.limits(settings))
            }
            // The agent's pool sets the limits; an agent whose pool left the pool file keeps
            // the defaults (the store still decides whether it accepts tasks).
            guard let agent = try await agents.fetch(id: agentID) else { return .agentNotFound }
            let settings = pools.first { $0.name == agent.poolName }?.tasks ?? TaskSettings()
            return try await store.submit(agentID: agentID, submission, limits: Self.limits(settings))
        }
    }

    static func limits(_ settings: TaskSettings) -> TaskLimits {
        TaskLimits(defaultTimeout: settings.taskTimeout.seconds, defaultMaxAttempts: settings.maxAttempts, maxQueued: settings.maxQueuedTasks)
    }

    /// Puts the accepted task on its agent's stream. A failure loses nothing: the task is
    /// committed, and the hosting worker's sweep of PostgreSQL finds it (later, not never).
    private func enqueue(_ task: TaskRecord) async {
        do {
            try await queue.enqueue(agentID: task.agentID, taskID: task.taskID, seq: task.seq)
        } catch {
            logger.warning(
                "Accepted a task but could not put it on its agent's stream; the worker's sweep will find it",
                metadata: ["task_id": "\(task.taskID)", "agent_id": "\(task.agentID)", "error": "\(error)"])
        }
    }
}
