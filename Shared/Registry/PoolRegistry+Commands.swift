#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol
import Redis

/// Commands from the leading manager to one worker, on that worker's own channel
/// `process:<id>:commands`. Where the worker is chosen or looked up in Redis, a Lua script
/// publishes the command in the same atomic step, saving a round trip per spawn and per
/// terminate.
extension PoolRegistry {
    /// Publishes a command on the channel of the worker it targets, so that no other worker
    /// wakes for it; a command without a target goes to the whole pool. Returns how many
    /// subscribers got it: 0 means that worker is not listening.
    @discardableResult
    public func publishCommand(_ command: PoolMessage) async throws -> Int {
        try await publish(command, onChannel: command.targetProcessID.map(RedisKeys.processCommands) ?? RedisKeys.poolCommands(pool))
    }

    /// Reserves a slot for `agent` on the ready worker with the most free slots and sends that
    /// worker `start_agent` (with `epoch`) in one atomic script. Returns the worker's id, or nil
    /// when no listening worker has a free slot. The reservation expires at `deadline` unless
    /// the worker claims the agent first. An agent already placed on a registered worker is
    /// announced there again (the worker answers `agent_started` once more).
    public func reserveAndStart(_ agent: AgentSpec, epoch: Int, deadline: Date, now: Date = Date()) async throws -> String? {
        let (prefix, suffix) = Self.split { .startAgent(StartAgent(targetProcessID: $0, epoch: epoch, agent: agent)) }
        let reply = try await redis.evalScript(
            RegistryScripts.reserve, keys: [],
            arguments: [
                agent.agentID, pool, String(Timestamp.milliseconds(now)), String(Timestamp.milliseconds(deadline)), prefix, suffix,
            ])
        return reply.string
    }

    /// Sends `stop_agent` (with `epoch`) to the worker the registry places `agentID` on, in one
    /// script that looks the worker up and publishes.
    public func stopPlacedAgent(_ agentID: String, epoch: Int) async throws -> StopDelivery {
        let (prefix, suffix) = Self.split { .stopAgent(StopAgent(targetProcessID: $0, epoch: epoch, agentID: agentID)) }
        let reply = try await redis.evalScript(RegistryScripts.stopPlaced, keys: [], arguments: [agentID, prefix, suffix])
        guard let parts = reply.array, parts.count == 2, let processID = parts[0].string else { return .notPlaced }
        return (parts[1].int ?? 0) > 0 ? .sent(processID: processID) : .notListening(processID: processID)
    }

    /// Encodes the command `make` builds for a placeholder target and splits the line around
    /// that target, so that a script can address it with `prefix .. process_id .. suffix`.
    /// The placeholder is a fresh random UUID: it cannot also occur in the agent's fields.
    static func split(_ make: (String) -> PoolMessage) -> (prefix: String, suffix: String) {
        let placeholder = Identifier.make()
        let line = MessageCodec.encode(make(placeholder))
        guard let range = line.firstRange(of: Array(placeholder.utf8)) else {
            preconditionFailure("an encoded command always contains its target_process_id")
        }
        return (String(decoding: line[..<range.lowerBound], as: UTF8.self), String(decoding: line[range.upperBound...], as: UTF8.self))
    }
}

/// What `stopPlacedAgent` did.
public enum StopDelivery: Sendable, Hashable {
    /// The registry places the agent on `processID`, which received `stop_agent`.
    case sent(processID: String)
    /// The registry places the agent on `processID`, but nobody listens on its channel (the
    /// worker died, or its subscription is reconnecting); reconcile takes over.
    case notListening(processID: String)
    /// The registry places the agent nowhere.
    case notPlaced
}
