#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolCore
import PoolProtocol
import Redis

/// What a leader proves with every registry change: it holds the pool's lease with `token`,
/// under leadership `epoch`.
public struct LeaderFence: Sendable, Hashable {
    public let token: String
    public let epoch: Int

    public init(token: String, epoch: Int) {
        self.token = token
        self.epoch = epoch
    }
}

/// A leader's registry change was refused: `pool:<name>:leader` no longer holds its token.
/// The caller must stop acting.
public struct LeaseLost: Error, CustomStringConvertible {
    public let pool: String
    public var description: String { "another manager holds the lease of pool \(pool)" }
}

/// Everything a leader changes in the registry, each one fenced script (`LeaderScripts`): a
/// leader whose lease is gone changes nothing and gets `LeaseLost`.
extension PoolRegistry {
    private func runFenced(_ script: RedisScript, keys: [String], arguments: [String], _ fence: LeaderFence) async throws -> RedisReply {
        do {
            return try await redis.evalScript(
                script, keys: keys + [RedisKeys.poolLeader(pool)], arguments: arguments + [fence.token])
        } catch where error.message.hasPrefix(LeaderScripts.fencedPrefix) {
            throw LeaseLost(pool: pool)
        }
    }

    /// Publishes a command on the channel of the worker it targets (a command without a
    /// target goes to the whole pool). Returns how many subscribers got it: 0 means that
    /// worker is not listening.
    @discardableResult
    public func publishCommand(_ command: PoolMessage, fence: LeaderFence) async throws -> Int {
        let channel = command.targetProcessID.map(RedisKeys.processCommands) ?? RedisKeys.poolCommands(pool)
        let line = String(decoding: MessageCodec.encode(command), as: UTF8.self)
        return try await runFenced(LeaderScripts.publish, keys: [channel], arguments: [line], fence).int ?? 0
    }

    /// Reserves a slot for `agent` on the ready worker with the most free slots and sends that
    /// worker `start_agent` (with the fence's epoch) in one atomic script. Returns the worker's
    /// id, or nil when no listening worker has a free slot. The reservation expires at
    /// `deadline` unless the worker claims the agent first. An agent already really placed on
    /// a registered worker is announced there again (the worker answers `agent_started` again).
    public func reserveAndStart(_ agent: AgentSpec, fence: LeaderFence, deadline: Date, now: Date = Date()) async throws -> String? {
        let (prefix, suffix) = Self.split { .startAgent(StartAgent(targetProcessID: $0, epoch: fence.epoch, agent: agent)) }
        let reply = try await runFenced(
            LeaderScripts.reserve, keys: [RedisKeys.agent(agent.agentID), RedisKeys.poolProcesses(pool)],
            arguments: [
                agent.agentID, pool, String(Timestamp.milliseconds(now)), String(Timestamp.milliseconds(deadline)), prefix, suffix,
            ], fence)
        return reply.string
    }

    /// Sends `stop_agent` to the worker the registry places `agentID` on, in one script that
    /// looks the worker up and publishes.
    public func stopPlacedAgent(_ agentID: String, fence: LeaderFence) async throws -> StopDelivery {
        let (prefix, suffix) = Self.split { .stopAgent(StopAgent(targetProcessID: $0, epoch: fence.epoch, agentID: agentID)) }
        let reply = try await runFenced(
            LeaderScripts.stopPlaced, keys: [RedisKeys.agent(agentID)], arguments: [agentID, prefix, suffix], fence)
        guard let parts = reply.array, parts.count == 2, let processID = parts[0].string else { return .notPlaced }
        return (parts[1].int ?? 0) > 0 ? .sent(processID: processID) : .notListening(processID: processID)
    }

    /// Takes an idle worker out of placement so that it can retire; false (and nothing
    /// changed) when it hosts or expects an agent, or is not ready.
    public func beginRetirement(processID: String, fence: LeaderFence, now: Date = Date()) async throws -> Bool {
        try await runFenced(
            LeaderScripts.beginRetirement,
            keys: [RedisKeys.process(processID), RedisKeys.processAgents(processID), RedisKeys.processReservations(processID)],
            arguments: [processID, pool, String(Timestamp.milliseconds(now))], fence
        ).int == 1
    }

    /// Clears the entry of an agent whose worker is gone; nothing happens when the worker is
    /// registered after all. Returns whether it cleared the entry.
    @discardableResult
    public func releaseOrphan(agentID: String, processID: String, fence: LeaderFence) async throws -> Bool {
        try await runFenced(
            LeaderScripts.releaseOrphan,
            keys: [
                RedisKeys.agent(agentID), RedisKeys.process(processID), RedisKeys.processAgents(processID),
                RedisKeys.processReservations(processID), RedisKeys.poolAgents(pool),
            ],
            arguments: [agentID, processID], fence
        ).int == 1
    }

    /// Removes a worker declared dead and the registry entries of the agents it hosted;
    /// returns those agent ids. With `onlyIfStaleAfter` (a heal for heartbeat age) it changes
    /// nothing and returns nil when the worker's heartbeat, on Redis' clock, is not older than
    /// that any more (it resumed in time).
    @discardableResult
    public func deregisterDead(processID: String, fence: LeaderFence, onlyIfStaleAfter staleAfter: Duration? = nil) async throws -> [String]? {
        let staleAfterMs = staleAfter.map { max(1, Int($0.seconds * 1000)) } ?? 0
        let reply = try await runFenced(
            LeaderScripts.deregisterDead,
            keys: [
                RedisKeys.process(processID), RedisKeys.processAgents(processID), RedisKeys.processReservations(processID),
                RedisKeys.poolAgents(pool), RedisKeys.poolProcesses(pool),
            ],
            arguments: [processID, String(staleAfterMs)], fence)
        if reply.isNull { return nil }
        return reply.array?.compactMap(\.string) ?? []
    }

    /// Clears `agent:<id>` when it names `processID` but that worker's set does not list the
    /// agent. Returns false when the placement turned out consistent (or changed) meanwhile.
    public func clearUnattributed(agentID: String, processID: String, fence: LeaderFence) async throws -> Bool {
        try await runFenced(
            LeaderScripts.clearUnattributed,
            keys: [RedisKeys.agent(agentID), RedisKeys.processAgents(processID), RedisKeys.poolAgents(pool)],
            arguments: [agentID, processID], fence
        ).int == 1
    }

    /// Writes `agent:<id>` back naming `processID`, whose set lists the agent while no hash
    /// records it there. Returns false when that changed meanwhile.
    public func restoreRecord(_ agent: AgentSpec, processID: String, fence: LeaderFence, now: Date = Date()) async throws -> Bool {
        try await runFenced(
            LeaderScripts.restoreRecord,
            keys: [
                RedisKeys.agent(agent.agentID), RedisKeys.process(processID), RedisKeys.processAgents(processID),
                RedisKeys.poolAgents(pool),
            ],
            arguments: [agent.agentID, processID, pool, agent.role, agent.name, Timestamp.string(now)], fence
        ).int == 1
    }

    /// Drops `agentID` from the set of `processID` while the worker its hash names lists it
    /// too (a second copy); that worker stops the copy at its next heartbeat.
    public func detachDuplicate(agentID: String, processID: String, fence: LeaderFence, now: Date = Date()) async throws -> Bool {
        try await runFenced(
            LeaderScripts.detachDuplicate, keys: [RedisKeys.agent(agentID), RedisKeys.processAgents(processID)],
            arguments: [agentID, processID, pool, String(Timestamp.milliseconds(now))], fence
        ).int == 1
    }

    /// Publishes the leader's view of the pool (`desired_workers`, its epoch) in `pool:<name>:state`.
    public func publishState(desiredWorkers: Int, fence: LeaderFence) async throws {
        _ = try await runFenced(
            LeaderScripts.publishState, keys: [RedisKeys.poolState(pool)],
            arguments: [String(desiredWorkers), String(fence.epoch)], fence)
    }
}
