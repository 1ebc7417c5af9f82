import Redis

/// The one registry change a gateway makes itself: placing a fresh spawn on a worker with a
/// free slot, without the hop through the pool's manager. Everything that needs judgment (no
/// slot free: scale up, queue or refuse) stays with the leading manager, which the gateway
/// then asks as before; so do healing, retirement and reconcile.
///
/// The script is fenced, atomically with the reservation: a manager must hold the pool's
/// lease (`pool:<name>:leader` exists) and some manager must listen on the pool's requests
/// channel (every replica does for its whole life, so nobody listening means none runs; a
/// lease left by a killed leader proves nothing): else nobody would heal or place the agent
/// again, and the spawn answers 503 `no_manager` as it did when the gateway asked the manager.
/// And the command carries the pool's current leadership epoch (`pool:<name>:epoch` must
/// equal the one the gateway encoded).
/// A worker's claim refuses a start older than the pool's epoch, and the reservation expires,
/// so a leadership that changes right after only costs a placement by the next reconcile.
enum GatewayScripts {
    /// Reply codes other than a process id.
    static let noFreeSlot = 0
    static let noLeader = -1
    static let epochMoved = -2

    /// KEYS: pool:<name>:processes. ARGV: agent_id, pool, now (ms), reservation deadline (ms),
    /// command prefix, command suffix, epoch the command carries, then the names (from
    /// `RedisKeys`) of pool:<name>:leader, pool:<name>:epoch and the pool's requests channel.
    /// Those two keys come as arguments, not KEYS, because Redis 7's ACL checks declared keys
    /// for writing, and the gateway may only read the lease and the epoch. Returns the
    /// worker's process id; 0 when no listening worker has a free slot; -1 when no manager
    /// holds the lease or listens; {-2, current epoch} when the command's epoch is not the
    /// pool's (nothing changed in either case).
    static let place = RedisScript(RegistryScripts.refresh + RegistryScripts.reserveOnFreeWorker + """
        if redis.call('EXISTS', ARGV[8]) == 0 then return \(noLeader) end
        if redis.call('PUBSUB', 'NUMSUB', ARGV[10])[2] == 0 then return \(noLeader) end
        local epoch = redis.call('GET', ARGV[9])
        if epoch ~= ARGV[7] then return {\(epochMoved), epoch or '0'} end
        return reserveOnFreeWorker(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) or \(noFreeSlot)
        """)
}
