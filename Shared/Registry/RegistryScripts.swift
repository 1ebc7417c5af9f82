import Redis

/// The Lua scripts that change the registry. Each runs atomically in Redis, so the free-slot
/// score in `pool:<name>:processes`, a worker's counters and its agent sets always change
/// together: a heartbeat can never undo a reservation in flight, and a burst of placements
/// can never overfill a worker. (Keys derived inside a script, such as `process:<id>` of the
/// worker a reservation picks, assume a single Redis, not Redis Cluster.)
enum RegistryScripts {
    /// Shared Lua: drops expired reservations and rewrites the worker's `agent_count` and its
    /// score = max_agents - hosted - reserved (0 unless the worker is `ready`).
    static let refresh = """
        local function refresh(processID, pool, nowMs)
          local processKey = 'process:' .. processID
          local reservedKey = processKey .. ':reserved'
          redis.call('ZREMRANGEBYSCORE', reservedKey, '-inf', nowMs)
          local maxAgents = tonumber(redis.call('HGET', processKey, 'max_agents')) or 0
          local hosted = redis.call('SCARD', processKey .. ':agents')
          local free = maxAgents - hosted - redis.call('ZCARD', reservedKey)
          if free < 0 or redis.call('HGET', processKey, 'status') ~= 'ready' then free = 0 end
          redis.call('HSET', processKey, 'agent_count', hosted)
          redis.call('ZADD', 'pool:' .. pool .. ':processes', free, processID)
          return free
        end

        """

    /// Shared Lua (needs `refresh`): reserves one slot for an agent on the ready worker with the
    /// most free slots and, in the same atomic step, publishes its `start_agent` on that
    /// worker's channel (the line is prefix .. process_id .. suffix). A worker nobody listens
    /// for (dead, or its subscription reconnecting) gets its slot back at once and the next one
    /// is tried. Returns the worker's process id, or false when no listening worker has a free
    /// slot. Both doors that place agents use it: the leader's `reserve` and the gateway's
    /// `place` (`GatewayScripts`), so a slot is taken one way only.
    static let reserveOnFreeWorker = """
        local function reserveOnFreeWorker(processesKey, agentID, pool, nowMs, deadlineMs, prefix, suffix)
          local candidates = redis.call('ZREVRANGEBYSCORE', processesKey, '+inf', 1, 'LIMIT', 0, 32)
          for _, processID in ipairs(candidates) do
            if refresh(processID, pool, nowMs) > 0 then
              local reservedKey = 'process:' .. processID .. ':reserved'
              redis.call('ZADD', reservedKey, deadlineMs, agentID)
              if redis.call('PUBLISH', 'process:' .. processID .. ':commands', prefix .. processID .. suffix) > 0 then
                refresh(processID, pool, nowMs)
                return processID
              end
              redis.call('ZREM', reservedKey, agentID)
            end
          end
          return false
        end

        """

    /// Shared Lua: Redis' own clock in milliseconds. Heartbeats are stamped with it
    /// (`heartbeat_ms`) so that liveness never compares two machines' clocks.
    static let serverTime = """
        local function serverMs()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end

        """

    /// Registers (or re-registers) a worker with no agents.
    /// ARGV: process_id, pool, pid, host, max_agents, now (RFC 3339), now (ms).
    static let register = RedisScript(refresh + serverTime + """
        local processID, pool = ARGV[1], ARGV[2]
        local processKey = 'process:' .. processID
        redis.call('DEL', processKey, processKey .. ':agents', processKey .. ':reserved')
        redis.call('HSET', processKey, 'process_id', processID, 'pool_name', pool, 'pid', ARGV[3],
          'host', ARGV[4], 'max_agents', ARGV[5], 'agent_count', 0, 'status', 'ready',
          'started_at', ARGV[6], 'last_heartbeat', ARGV[6], 'heartbeat_ms', serverMs())
        return refresh(processID, pool, ARGV[7])
        """)

    /// Records a heartbeat (`last_heartbeat` as the worker tells it, for the contract;
    /// `heartbeat_ms` from Redis' clock, for liveness) and recomputes the score from what the
    /// worker hosts. Returns -1
    /// when the worker's registration is gone (it was declared dead), else the agent ids the
    /// registry attributes to the worker, so that it can stop any other it still runs.
    /// ARGV: process_id, pool, now (RFC 3339), now (ms).
    static let heartbeat = RedisScript(refresh + serverTime + """
        local processKey = 'process:' .. ARGV[1]
        if redis.call('EXISTS', processKey) == 0 then return -1 end
        redis.call('HSET', processKey, 'last_heartbeat', ARGV[3], 'heartbeat_ms', serverMs())
        refresh(ARGV[1], ARGV[2], ARGV[4])
        return redis.call('SMEMBERS', processKey .. ':agents')
        """)

    /// Takes a ready worker out of placement (score 0) before it drains and leaves.
    /// ARGV: process_id, pool, now (ms). Returns 0 when the worker is not registered.
    static let drain = RedisScript(refresh + """
        local processKey = 'process:' .. ARGV[1]
        if redis.call('EXISTS', processKey) == 0 then return 0 end
        redis.call('HSET', processKey, 'status', 'draining')
        refresh(ARGV[1], ARGV[2], ARGV[3])
        return 1
        """)

    /// Removes a worker and every registry entry of the agents it hosted: used by a worker
    /// that leaves and by a manager healing a dead one. Returns the agent ids it hosted.
    /// ARGV: process_id, pool.
    static let deregister = RedisScript("""
        local processID, pool = ARGV[1], ARGV[2]
        local processKey = 'process:' .. processID
        local agents = redis.call('SMEMBERS', processKey .. ':agents')
        for _, agentID in ipairs(agents) do
          local agentKey = 'agent:' .. agentID
          if redis.call('HGET', agentKey, 'process_id') == processID then
            redis.call('DEL', agentKey)
            redis.call('SREM', 'pool:' .. pool .. ':agents', agentID)
          end
        end
        redis.call('DEL', processKey, processKey .. ':agents', processKey .. ':reserved')
        redis.call('ZREM', 'pool:' .. pool .. ':processes', processID)
        return agents
        """)

    /// Gives back a reservation whose command could not be delivered.
    /// ARGV: agent_id, process_id, pool, now (ms).
    static let release = RedisScript(refresh + """
        if redis.call('EXISTS', 'process:' .. ARGV[2]) == 0 then return 0 end
        redis.call('ZREM', 'process:' .. ARGV[2] .. ':reserved', ARGV[1])
        refresh(ARGV[2], ARGV[3], ARGV[4])
        return 1
        """)

    /// A worker claims an agent it starts: the agent's hash, both sets, the reservation turned
    /// into a hosted slot. Returns 1 on success, 0 when the agent is already placed on another
    /// live worker (so it must not run twice), -1 when this worker is not registered. A hash
    /// naming another worker whose set does not list the agent is a lost half of a placement
    /// (that worker stops the agent at its next heartbeat), not a placement: the claim wins.
    /// Returns -2 (nothing changed) when the start's epoch (ARGV[8], 0: unchecked) is older
    /// than `pool:<name>:epoch`: a deposed leader's late start.
    /// ARGV: agent_id, process_id, pool, role, name, now (RFC 3339), now (ms), epoch.
    static let claimAgent = RedisScript(refresh + """
        local agentID, processID, pool = ARGV[1], ARGV[2], ARGV[3]
        local agentKey = 'agent:' .. agentID
        local processKey = 'process:' .. processID
        if redis.call('EXISTS', processKey) == 0 then return -1 end
        local startEpoch = tonumber(ARGV[8]) or 0
        local poolEpoch = tonumber(redis.call('GET', 'pool:' .. pool .. ':epoch'))
        if startEpoch > 0 and poolEpoch and poolEpoch > startEpoch then return -2 end
        local current = redis.call('HGET', agentKey, 'process_id')
        if current and current ~= processID and redis.call('EXISTS', 'process:' .. current) == 1
          and redis.call('SISMEMBER', 'process:' .. current .. ':agents', agentID) == 1 then
          return 0
        end
        if current and current ~= processID then
          redis.call('SREM', 'process:' .. current .. ':agents', agentID)
        end
        local startedAt = redis.call('HGET', agentKey, 'started_at') or ARGV[6]
        if current ~= processID then startedAt = ARGV[6] end
        redis.call('HSET', agentKey, 'agent_id', agentID, 'pool_name', pool, 'role', ARGV[4],
          'name', ARGV[5], 'process_id', processID, 'status', 'running',
          'started_at', startedAt, 'updated_at', ARGV[6])
        redis.call('SADD', processKey .. ':agents', agentID)
        redis.call('SADD', 'pool:' .. pool .. ':agents', agentID)
        redis.call('ZREM', processKey .. ':reserved', agentID)
        refresh(processID, pool, ARGV[7])
        return 1
        """)

    /// A worker forgets an agent it stopped (or never started). The agent's hash and pool
    /// entry go only if they still name this worker.
    /// ARGV: agent_id, process_id, pool, now (ms).
    static let releaseAgent = RedisScript(refresh + """
        local agentID, processID, pool = ARGV[1], ARGV[2], ARGV[3]
        local agentKey = 'agent:' .. agentID
        local current = redis.call('HGET', agentKey, 'process_id')
        if current == processID or not current then
          redis.call('DEL', agentKey)
          redis.call('SREM', 'pool:' .. pool .. ':agents', agentID)
        end
        redis.call('SREM', 'process:' .. processID .. ':agents', agentID)
        redis.call('ZREM', 'process:' .. processID .. ':reserved', agentID)
        if redis.call('EXISTS', 'process:' .. processID) == 1 then refresh(processID, pool, ARGV[4]) end
        return 1
        """)
}
