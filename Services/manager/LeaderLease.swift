import AgentStore
import Redis
import PoolProtocol

/// Leadership of one pool: `pool:<name>:leader` taken with `SET NX PX` and this manager's
/// owner token, renewed and released only by Lua that checks the token, so a manager can
/// never extend or drop a lease it lost. Each new leadership increments `pool:<name>:epoch`,
/// the fencing number every command carries.
struct LeaderLease: Sendable {
    let redis: RedisClient
    let epochs: LeadershipStore
    let pool: String
    let token: String
    let ttl: Duration

    private static let renewScript = RedisScript("""
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 0
        """)

    private static let releaseScript = RedisScript("""
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    private var milliseconds: String { String(Int(ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000)) }

    /// Takes the lease if nobody holds it; returns the new epoch, or nil when another manager
    /// leads. The epoch comes from PostgreSQL so that it keeps increasing even when Redis
    /// lost its data; `pool:<name>:epoch` mirrors it for operators.
    func tryAcquire() async throws -> Int? {
        let reply = try await redis.send("SET", RedisKeys.poolLeader(pool), token, "NX", "PX", milliseconds)
        guard reply.string == "OK" else { return nil }
        do {
            let epoch = try await epochs.nextEpoch(pool: pool)
            _ = try await redis.send("SET", RedisKeys.poolEpoch(pool), String(epoch))
            return epoch
        } catch {
            try? await release()
            throw error
        }
    }

    /// Extends the lease; false when it is no longer ours.
    func renew() async throws -> Bool {
        try await redis.evalScript(Self.renewScript, keys: [RedisKeys.poolLeader(pool)], arguments: [token, milliseconds]).int == 1
    }

    /// Gives the lease up so that a standby takes over at once.
    func release() async throws {
        _ = try await redis.evalScript(Self.releaseScript, keys: [RedisKeys.poolLeader(pool)], arguments: [token])
    }
}
