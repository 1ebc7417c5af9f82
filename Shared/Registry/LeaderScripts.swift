import Redis

/// The scripts only a pool's leader runs. Each is fenced: it first checks that the pool's
/// lease key (always the LAST of KEYS, `pool:<name>:leader` from `RedisKeys`) still holds this
/// manager's token (always the LAST of ARGV), and otherwise changes nothing and fails with
/// an error starting `FENCED`. A leader that was paused past its lease therefore cannot act
/// when it resumes, not even once before its next renewal tells it so.
///
/// Keys known before the script runs come through KEYS[]. The keys of a worker a script finds
/// inside Redis (the one `reserve` picks, the one an agent's hash names) and those of the shared
/// `refresh` helper are derived in Lua, which assumes one Redis, not Redis Cluster.
enum LeaderScripts {
    /// The error a fenced script answers with when another manager leads.
    static let fencedPrefix = "FENCED"

    private static func fenced(_ body: String) -> RedisScript {
        RedisScript("""
            if redis.call('GET', KEYS[#KEYS]) ~= ARGV[#ARGV] then
              return redis.error_reply('\(fencedPrefix) this manager no longer leads the pool')
            end

            """ + body)
    }

    /// Reserves one slot for an agent on the ready worker with the most free slots and, in
    /// the same atomic step, publishes `start_agent` on that worker's channel
    /// (`RegistryScripts.reserveOnFreeWorker`; the command is ARGV[5] .. process_id ..
    /// ARGV[6]). An agent really placed on a registered worker (its hash names the worker and
    /// the worker's set lists it) is announced there again instead. Returns the worker's
    /// process id, or false when no listening worker has a free slot.
    /// KEYS: agent:<id>, pool:<name>:processes, leader. ARGV: agent_id, pool, now (ms),
    /// reservation deadline (ms), command prefix, command suffix, token.
    static let reserve = fenced(RegistryScripts.refresh + RegistryScripts.reserveOnFreeWorker + """
        local agentID, pool, nowMs = ARGV[1], ARGV[2], ARGV[3]
        local placedOn = redis.call('HGET', KEYS[1], 'process_id')
        if placedOn and redis.call('HGET', 'process:' .. placedOn, 'status')
          and redis.call('SISMEMBER', 'process:' .. placedOn .. ':agents', agentID) == 1 then
          if redis.call('PUBLISH', 'process:' .. placedOn .. ':commands', ARGV[5] .. placedOn .. ARGV[6]) > 0 then
            return placedOn
          end
          return false
        end
        return reserveOnFreeWorker(KEYS[2], agentID, pool, nowMs, ARGV[4], ARGV[5], ARGV[6])
        """)

    /// Publishes `stop_agent` to the worker the registry places an agent on (the command is
    /// ARGV[2] .. process_id .. ARGV[3]). Returns {process_id, receivers}, or false when the
    /// agent is not placed. KEYS: agent:<id>, leader. ARGV: agent_id, prefix, suffix, token.
    static let stopPlaced = fenced("""
        local processID = redis.call('HGET', KEYS[1], 'process_id')
        if not processID then return false end
        local receivers = redis.call('PUBLISH', 'process:' .. processID .. ':commands', ARGV[2] .. processID .. ARGV[3])
        return {processID, receivers}
        """)

    /// Takes an idle worker out of placement so that it can retire: only when it is `ready`,
    /// hosts nothing and has no live reservation, checked atomically so that no agent can be
    /// placed on it in between. Returns 1 when the worker is now `draining`, else 0.
    /// KEYS: process:<id>, process:<id>:agents, process:<id>:reserved, leader.
    /// ARGV: process_id, pool, now (ms), token.
    static let beginRetirement = fenced(RegistryScripts.refresh + """
        if redis.call('HGET', KEYS[1], 'status') ~= 'ready' then return 0 end
        redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])
        if redis.call('SCARD', KEYS[2]) > 0 or redis.call('ZCARD', KEYS[3]) > 0 then return 0 end
        redis.call('HSET', KEYS[1], 'status', 'draining')
        refresh(ARGV[1], ARGV[2], ARGV[3])
        return 1
        """)

    /// Clears the entry of an agent whose worker is gone, atomically checking that the worker
    /// really is gone (it may have registered since the leader looked). Returns 1 when it
    /// cleared the entry. KEYS: agent:<id>, process:<id>, process:<id>:agents,
    /// process:<id>:reserved, pool:<name>:agents, leader. ARGV: agent_id, process_id, token.
    static let releaseOrphan = fenced("""
        if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        if redis.call('HGET', KEYS[1], 'process_id') == ARGV[2] then
          redis.call('DEL', KEYS[1])
          redis.call('SREM', KEYS[5], ARGV[1])
        end
        redis.call('DEL', KEYS[3], KEYS[4])
        return 1
        """)

    /// Removes a dead worker and the registry entries of every agent it hosted; returns those
    /// agent ids. With a staleness bound (ARGV[2] > 0, a heal for heartbeat age rather than a
    /// process exit) it first checks, on Redis' clock, that the heartbeat is still older than
    /// the bound, and returns false (changing nothing) when it is not: a worker that resumed
    /// after a freeze keeps its agents instead of running them beside their replacements.
    /// KEYS: process:<id>, process:<id>:agents, process:<id>:reserved, pool:<name>:agents,
    /// pool:<name>:processes, leader. ARGV: process_id, stale_after_ms (0: unconditional), token.
    static let deregisterDead = fenced("""
        local staleAfterMs = tonumber(ARGV[2]) or 0
        if staleAfterMs > 0 then
          local beat = tonumber(redis.call('HGET', KEYS[1], 'heartbeat_ms'))
          local t = redis.call('TIME')
          local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
          if beat and nowMs - beat <= staleAfterMs then return false end
        end
        local agents = redis.call('SMEMBERS', KEYS[2])
        for _, agentID in ipairs(agents) do
          local agentKey = 'agent:' .. agentID
          if redis.call('HGET', agentKey, 'process_id') == ARGV[1] then
            redis.call('DEL', agentKey)
            redis.call('SREM', KEYS[4], agentID)
          end
        end
        redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
        redis.call('ZREM', KEYS[5], ARGV[1])
        return agents
        """)

    /// Clears an `agent:<id>` that names a worker whose set does not list the agent (half of a
    /// placement was lost; that worker stops or already stopped the agent). Returns 1 when it
    /// cleared it, 0 when the placement turned out consistent (or moved) meanwhile.
    /// KEYS: agent:<id>, process:<id>:agents, pool:<name>:agents, leader.
    /// ARGV: agent_id, process_id, token.
    static let clearUnattributed = fenced("""
        if redis.call('HGET', KEYS[1], 'process_id') ~= ARGV[2] then return 0 end
        if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
        redis.call('DEL', KEYS[1])
        redis.call('SREM', KEYS[3], ARGV[1])
        return 1
        """)

    /// Writes `agent:<id>` back for an agent a live worker's set lists but no hash (or only a
    /// hash naming a worker that does not list it) records, so that the agent is not started
    /// a second time elsewhere. Returns 1 when it wrote the hash.
    /// KEYS: agent:<id>, process:<id>, process:<id>:agents, pool:<name>:agents, leader.
    /// ARGV: agent_id, process_id, pool, role, name, now (RFC 3339), token.
    static let restoreRecord = fenced("""
        if redis.call('EXISTS', KEYS[2]) == 0 or redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then return 0 end
        local current = redis.call('HGET', KEYS[1], 'process_id')
        if current == ARGV[2] then return 0 end
        if current and redis.call('EXISTS', 'process:' .. current) == 1
          and redis.call('SISMEMBER', 'process:' .. current .. ':agents', ARGV[1]) == 1 then
          return 0
        end
        redis.call('HSET', KEYS[1], 'agent_id', ARGV[1], 'pool_name', ARGV[3], 'role', ARGV[4], 'name', ARGV[5],
          'process_id', ARGV[2], 'status', 'running', 'started_at', ARGV[6], 'updated_at', ARGV[6])
        redis.call('SADD', KEYS[4], ARGV[1])
        return 1
        """)

    /// Drops an agent from the set of a worker that is not the one its hash names, while that
    /// one lists it too: the extra copy stops at its worker's next heartbeat. Returns 1 when
    /// it dropped it. KEYS: agent:<id>, process:<id>:agents, leader.
    /// ARGV: agent_id, process_id, pool, now (ms), token.
    static let detachDuplicate = fenced(RegistryScripts.refresh + """
        local holder = redis.call('HGET', KEYS[1], 'process_id')
        if not holder or holder == ARGV[2] then return 0 end
        if redis.call('SISMEMBER', 'process:' .. holder .. ':agents', ARGV[1]) == 0 then return 0 end
        redis.call('SREM', KEYS[2], ARGV[1])
        refresh(ARGV[2], ARGV[3], ARGV[4])
        return 1
        """)

    /// Publishes one line on a channel. KEYS: the channel, leader. ARGV: line, token.
    static let publish = fenced("""
        return redis.call('PUBLISH', KEYS[1], ARGV[1])
        """)

    /// Publishes the leader's view of the pool. KEYS: pool:<name>:state, leader.
    /// ARGV: desired_workers, epoch, token.
    static let publishState = fenced("""
        redis.call('HSET', KEYS[1], 'desired_workers', ARGV[1], 'epoch', ARGV[2])
        return 1
        """)
}
