import PoolProtocol
import Redis

extension TaskQueue {
    /// Deletes the task streams of these agents (they ended), pipelined in chunks.
    public func remove(agentIDs: [String]) async throws {
        for start in stride(from: 0, to: agentIDs.count, by: 500) {
            let chunk = agentIDs[start..<min(start + 500, agentIDs.count)]
            _ = try await redis.send(["DEL"] + chunk.map(RedisKeys.agentTasks))
        }
    }
}
