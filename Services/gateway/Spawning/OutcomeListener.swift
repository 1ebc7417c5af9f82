import Logging
import PoolProtocol
import Redis
import ServiceLifecycle

/// Listens on every pool's events channel and hands agent outcomes to waiting requests.
/// It is only the fast path: handlers read PostgreSQL when no event comes in time (or one
/// does not say enough), so a lost event costs latency, never a wrong answer.
struct OutcomeListener: Service {
    let subscriber: RedisSubscriber
    let outcomes: AgentOutcomes
    let logger: Logger

    init(pools: [String], redis: RedisConfiguration, outcomes: AgentOutcomes, logger: Logger) {
        subscriber = RedisSubscriber(configuration: redis, channels: pools.map(RedisKeys.poolEvents), logger: logger)
        self.outcomes = outcomes
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await subscriber.run() }
                group.addTask { await deliver() }
            }
        }
    }

    private func deliver() async {
        for await event in subscriber.events {
            guard case .message(let channel, let payload) = event else { continue }
            let message: PoolMessage
            do {
                message = try MessageCodec.decode(payload)
            } catch {
                logger.warning("Dropped a line", metadata: ["channel": "\(channel)", "reason": "\(error)"])
                continue
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
}
