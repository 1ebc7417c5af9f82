import AgentStore
import Registry

/// Leadership of one pool: the lease in the registry (`PoolRegistry+Lease`: `SET NX PX` with
/// this manager's owner token, renewed and released only while the token holds it) and the
/// epoch from PostgreSQL, which keeps increasing even when Redis lost its data, mirrored into
/// `pool:<name>:epoch`: the fencing number every command carries.
struct LeaderLease: Sendable {
    let registry: PoolRegistry
    let epochs: LeadershipStore
    let token: String
    let ttl: Duration

    var pool: String { registry.pool }

    /// Takes the lease if nobody holds it; returns the new epoch, or nil when another manager
    /// leads.
    func tryAcquire() async throws -> Int? {
        guard try await registry.acquireLease(token: token, ttl: ttl) else { return nil }
        do {
            let epoch = try await epochs.nextEpoch(pool: pool)
            try await registry.publishEpoch(epoch)
            return epoch
        } catch {
            try? await release()
            throw error
        }
    }

    /// Extends the lease; false when it is no longer ours.
    func renew() async throws -> Bool {
        try await registry.renewLease(token: token, ttl: ttl)
    }

    /// Gives the lease up so that a standby takes over at once.
    func release() async throws {
        try await registry.releaseLease(token: token)
    }
}
