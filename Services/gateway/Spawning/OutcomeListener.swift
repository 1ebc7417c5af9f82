import Logging
import PoolProtocol
import Redis
import ServiceLifecycle

/// The gateway's one subscription: every pool's events channel (agent outcomes, for waiting
/// spawns and terminates) and its task updates channel (`task_updated`, for `?wait`, cancels
/// and event streams). It is only the fast path: handlers read PostgreSQL when no message
/// comes in time (or one does not say enough), so a lost message costs latency, never a
/// wrong answer.
///
/// Messages are decoded and delivered on the subscriber's own thread (`Mailboxes` only takes
/// a lock), which spares every waiting request one hand-off to a task.
struct OutcomeListener: Service {
    let subscriber: RedisSubscriber

    init(pools: [String], redis: RedisConfiguration, outcomes: AgentOutcomes, taskUpdates: Mailboxes<TaskUpdated>, logger: Logger) {
        subscriber = RedisSubscriber(
            configuration: redis, channels: pools.map(RedisKeys.poolEvents) + pools.map(RedisKeys.poolTaskUpdates), logger: logger,
            onEvent: { Self.deliver($0, to: outcomes, taskUpdates: taskUpdates, logger: logger) })
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await subscriber.run()
        }
    }

    private static func deliver(
        _ event: RedisSubscriberEvent, to outcomes: AgentOutcomes, taskUpdates: Mailboxes<TaskUpdated>, logger: Logger
    ) {
        guard case .message(let channel, let payload) = event else { return }
        let message: PoolMessage
        do {
            message = try MessageCodec.decode(payload)
        } catch {
            logger.warning("Dropped a line", metadata: ["channel": "\(channel)", "reason": "\(error)"])
            return
        }
        switch message {
        case .agentStarted(let event):
            outcomes.deliver(.started(processID: event.processID, updatedAt: event.updatedAt), for: event.agentID)
        case .agentStopped(let event): outcomes.deliver(.stopped(updatedAt: event.updatedAt), for: event.agentID)
        case .agentFailed(let event):
            outcomes.deliver(.failed(reason: event.reason, refused: event.processID == nil), for: event.agentID)
        case .taskUpdated(let update): taskUpdates.deliver(update, for: update.taskID)
        default: break
        }
    }
}
