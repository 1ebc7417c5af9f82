import Logging
import PoolProtocol
import Redis

/// Reads this worker's `process:<id>:commands` and its pool's `pool:<name>:commands`, keeps
/// what is addressed to this worker and not fenced by a newer leadership epoch, and runs each
/// command concurrently. A malformed line is logged and dropped; it never stops the loop
/// (on the pool's channel only lines that mention this worker's id are decoded at all).
/// Returns when the stream ends or the worker accepted a `retire_worker` command.
struct CommandReceiver {
    let processID: String
    /// The pool-wide channel, where most lines are meant for other workers.
    let poolChannel: String
    let host: AgentHost
    let logger: Logger

    /// - Parameter subscribed: called after every (re)subscription, before commands flow.
    func receive(_ events: AsyncStream<RedisSubscriberEvent>, subscribed: @escaping @Sendable () async -> Void) async {
        var highestEpoch = 0
        let processIDBytes = Array(processID.utf8)
        await withDiscardingTaskGroup { group in
            for await event in events {
                guard case .message(let channel, let payload) = event else {
                    await subscribed()
                    continue
                }
                // A line on the pool's channel that does not even mention this worker is for
                // another one: skip it without decoding.
                if channel == poolChannel, !payload.contains(processIDBytes) { continue }
                let message: PoolMessage
                do {
                    message = try MessageCodec.decode(payload)
                } catch {
                    logger.warning("Dropped a line on the commands channel", metadata: ["reason": "\(error)"])
                    continue
                }
                guard message.targetProcessID == processID else { continue }
                // A gateway's `cancel_task` carries no leadership epoch: nothing to fence.
                if case .cancelTask = message {
                    group.addTask { await handle(message) }
                    continue
                }
                let epoch = Self.epoch(of: message)
                guard epoch >= highestEpoch else {
                    logger.warning("Ignored a command from an older leadership", metadata: ["epoch": "\(epoch)", "current": "\(highestEpoch)"])
                    continue
                }
                highestEpoch = epoch
                if case .retireWorker = message {
                    if await host.isIdle {
                        logger.info("Retiring: this worker is empty and was taken out of the pool")
                        return
                    }
                    logger.warning("Retire refused: this worker still hosts agents")
                    continue
                }
                group.addTask { await handle(message) }
            }
        }
    }

    private func handle(_ message: PoolMessage) async {
        switch message {
        case .startAgent(let command): await host.start(command.agent, epoch: command.epoch, isNew: command.isNew ?? false)
        case .stopAgent(let command): await host.stop(agentID: command.agentID)
        case .cancelTask(let command): await host.cancelTask(agentID: command.agentID, taskID: command.taskID)
        default:
            logger.warning("Dropped a message that does not belong on the commands channel", metadata: ["type": "\(message.type.rawValue)"])
        }
    }

    private static func epoch(of message: PoolMessage) -> Int {
        switch message {
        case .startAgent(let command): command.epoch
        case .stopAgent(let command): command.epoch
        case .retireWorker(let command): command.epoch
        default: 0
        }
    }
}
