import Logging
import PoolProtocol
import Redis
import ServiceLifecycle

/// Listens on every pool's events channel and hands agent outcomes to waiting requests.
/// It is only the fast path: handlers read PostgreSQL when no event comes in time (or one
/// does not say enough), so a lost event costs latency, never a wrong answer.
///
/// Events are decoded and delivered on the subscriber's own thread (`AgentOutcomes` only
/// takes a lock), which spares every spawn and terminate one hand-off to a task.
struct OutcomeListener: Service {
    let subscriber: RedisSubscriber

    init(pools: [String], redis: RedisConfiguration, outcomes: AgentOutcomes, logger: Logger) {
        subscriber = RedisSubscriber(
            configuration: redis, channels: pools.map(RedisKeys.poolEvents), logger: logger,
            onEvent: { Self.deliver($0, to: outcomes, logger: logger) })
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await subscriber.run()
        }
    }

    private static func deliver(_ event: RedisSubscriberEvent, to outcomes: AgentOutcomes, logger: Logger) {
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
        default: break
        }
    }
}
