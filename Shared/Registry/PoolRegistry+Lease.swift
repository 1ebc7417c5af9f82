import PoolProtocol
import Redis

/// The pool's leadership lease in Redis: `pool:<name>:leader` taken with `SET NX PX` and a
/// manager's owner token, renewed and released only by Lua that checks the token, so a manager
/// can never extend or drop a lease it lost; and `pool:<name>:epoch`, the mirror of the
/// leadership number (kept in PostgreSQL) that commands carry and the gateway's placement
/// checks.
extension PoolRegistry {
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

    /// Takes the lease for `ttl` if nobody holds it; false when another manager does.
    public func acquireLease(token: String, ttl: Duration) async throws -> Bool {
        try await redis.send("SET", RedisKeys.poolLeader(pool), token, "NX", "PX", Self.milliseconds(ttl)).string == "OK"
    }

    /// Writes the new leadership's epoch where workers' claims and gateways read it.
    public func publishEpoch(_ epoch: Int) async throws {
        _ = try await redis.send("SET", RedisKeys.poolEpoch(pool), String(epoch))
    }

    /// Extends the lease; false when it is no longer `token`'s.
    public func renewLease(token: String, ttl: Duration) async throws -> Bool {
        try await redis.evalScript(
            Self.renewScript, keys: [RedisKeys.poolLeader(pool)], arguments: [token, Self.milliseconds(ttl)]
        ).int == 1
    }

    /// Gives the lease up (only while `token` holds it), so that a standby takes over at once.
    public func releaseLease(token: String) async throws {
        _ = try await redis.evalScript(Self.releaseScript, keys: [RedisKeys.poolLeader(pool)], arguments: [token])
    }

    /// Whether any manager holds the lease now.
    public func leaderExists() async throws -> Bool {
        try await redis.send("EXISTS", RedisKeys.poolLeader(pool)).int == 1
    }

    private static func milliseconds(_ duration: Duration) -> String {
        String(Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000))
    }
}
