import PoolProtocol
import Redis

/// What the registry still knows of a worker that is not among the live ones.
public enum DepartedWorker: Sendable, Hashable {
    /// It is in `pool:<name>:processes` again: registered since the caller looked.
    case registered
    /// Not registered; its `process:<id>` hash is left with a heartbeat this many seconds old
    /// (on Redis' clock, or the worker's own `last_heartbeat` for an older binary).
    case leftover(heartbeatAge: Double)
    /// Not registered, and no heartbeat is left.
    case gone
}

extension PoolRegistry {
    /// One pipelined read of what the registry knows of each of `processIDs`, aged on Redis'
    /// clock (`TIME` in the same round trip).
    public func departures(_ processIDs: [String]) async throws -> [String: DepartedWorker] {
        guard !processIDs.isEmpty else { return [:] }
        var commands = processIDs.flatMap { processID in
            [["ZSCORE", RedisKeys.poolProcesses(pool), processID], ["HMGET", RedisKeys.process(processID), "heartbeat_ms", "last_heartbeat"]]
        }
        commands.append(["TIME"])
        let replies = try await redis.pipeline(commands)
        let time = replies[replies.count - 1].array ?? []
        let nowMs = (time.first?.int ?? 0) * 1000 + (time.count > 1 ? (time[1].int ?? 0) / 1000 : 0)
        var result: [String: DepartedWorker] = [:]
        for (index, processID) in processIDs.enumerated() {
            guard replies[2 * index].isNull else {
                result[processID] = .registered
                continue
            }
            let fields = replies[2 * index + 1].array ?? []
            let beatMs = fields.first?.int ?? fields.last?.string.flatMap(Timestamp.date).map(Timestamp.milliseconds)
            result[processID] = beatMs.map { .leftover(heartbeatAge: Double(nowMs - $0) / 1000) } ?? .gone
        }
        return result
    }
}
