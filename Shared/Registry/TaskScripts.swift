import Redis

/// The Lua scripts of the task queue (`TaskQueue`). Keys come in through `KEYS[]`, named by
/// `RedisKeys`; a channel derived inside a script (the worker's commands channel, known only
/// once the agent's hash is read) is built from the prefix and suffix the caller passes.
enum TaskScripts {
    /// Makes sure the stream's consumer group exists (creating the stream if needed), then
    /// appends one delivery, capping the stream at about `max_length` entries: one round trip,
    /// and a stream that Redis lost (a restart without its data) comes back with its group.
    /// KEYS: agent:<id>:tasks. ARGV: group, max_length, task_id, seq. Returns the entry id.
    static let enqueue = RedisScript("""
        local created = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
        if type(created) == 'table' and created.err and not string.find(created.err, 'BUSYGROUP', 1, true) then
          return created
        end
        return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'task_id', ARGV[3], 'seq', ARGV[4])
        """)

    /// Publishes a `cancel_task` line to the worker the registry places the agent on, in one
    /// step with looking the worker up. Returns false when the agent is placed nowhere, else
    /// {process_id, receivers}.
    /// KEYS: agent:<id>. ARGV: line prefix, line suffix (around the worker's process id),
    /// channel prefix, channel suffix (around the same).
    static let sendCancel = RedisScript("""
        local processID = redis.call('HGET', KEYS[1], 'process_id')
        if not processID then return false end
        local receivers = redis.call('PUBLISH', ARGV[3] .. processID .. ARGV[4], ARGV[1] .. processID .. ARGV[2])
        return {processID, receivers}
        """)
}
