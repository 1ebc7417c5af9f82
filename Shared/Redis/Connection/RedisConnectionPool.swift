import Logging
import NIOCore
import NIOPosix
import Reconnect
import Synchronization

/// Spreads callers over up to `size` pipelined connections on the process's event loops.
///
/// Connections open lazily: a new one only when every open one already has callers waiting,
/// so a quiet process holds one. A caller goes to the connection with the fewest waiting
/// callers; many callers share a connection at once, each write followed by the next without
/// waiting (replies come back in order). A connection that closed (the server went away, a
/// timeout) is dropped and replaced by the next call, before anything is sent on it.
///
/// After a failed connect, new connections are refused for a backoff window (50 ms doubling
/// to 2 s), so callers get a fast `.connection` error during an outage instead of each
/// waiting for a connect timeout, and the pool recovers by itself when the window ends.
final class RedisConnectionPool: Sendable {
    private struct State {
        var connections: [RedisChannelConnection?]
        var window = ConnectWindow()
        /// Whether the last event was a success; log lines are emitted on changes only.
        var healthy = true
        var isShutdown = false
    }

    private let size: Int
    private let configuration: RedisConfiguration
    private let logger: Logger
    private let group: any EventLoopGroup
    private let state: Mutex<State>

    init(configuration: RedisConfiguration, size: Int, logger: Logger, group: any EventLoopGroup) {
        self.size = max(1, size)
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "redis"] = "\(configuration.redactedDescription)"
        self.logger = logger
        self.group = group
        state = Mutex(State(connections: Array(repeating: nil, count: self.size)))
    }

    /// Sends encoded commands on one connection and returns their `replyCount` replies.
    /// Nothing is retried: after a connection failure the commands may have run.
    func send(_ bytes: ByteBuffer, replyCount: Int) async throws(RedisError) -> [RedisReply] {
        let connection: RedisChannelConnection
        do {
            connection = try pick()
        } catch {
            throw error.counted()
        }
        switch await connection.send(bytes, replyCount: replyCount, timeout: configuration.commandTimeout) {
        case .success(let replies): return replies
        case .failure(let error): throw error.counted()
        }
    }

    /// Closes every connection once its written commands are answered; later calls throw
    /// `.shutdown`.
    func close() async {
        let connections: [RedisChannelConnection] = state.withLock { state in
            state.isShutdown = true
            defer { state.connections = Array(repeating: nil, count: size) }
            return state.connections.compactMap { $0 }
        }
        for connection in connections { await connection.close() }
    }

    /// The least busy open connection, or a new one while fewer than `size` are open and
    /// every open one is busy.
    private func pick() throws(RedisError) -> RedisChannelConnection {
        try state.withLock { state throws(RedisError) in
            guard !state.isShutdown else { throw RedisError(.shutdown, "the Redis client is closed") }
            var best: RedisChannelConnection?
            var bestLoad = Int.max
            var free: Int?
            for index in state.connections.indices {
                guard let connection = state.connections[index], !connection.isClosed else {
                    state.connections[index] = nil
                    if free == nil { free = index }
                    continue
                }
                let load = connection.waitingCount
                if load < bestLoad { (best, bestLoad) = (connection, load) }
            }
            if let best, bestLoad == 0 || free == nil { return best }
            guard let free else { return best! }
            if let refusal = refusal(state) {
                if let best { return best }
                throw refusal
            }
            let connection = RedisChannelConnection(
                configuration: configuration, eventLoop: group.next(),
                onEvent: { [weak self] event in self?.record(event) })
            state.connections[free] = connection
            return connection
        }
    }

    /// The fast-fail error while a reconnect backoff window is open, else `nil`.
    private func refusal(_ state: State) -> RedisError? {
        guard state.window.isWaiting() else { return nil }
        let reason = state.window.lastMessage ?? "connect failed"
        return RedisError(.connection, "Redis is unavailable (\(reason)); retrying shortly")
    }

    /// Updates the backoff window and health from a connection's news, and logs changes.
    private func record(_ event: RedisConnectionEvent) {
        switch event {
        case .ready:
            let wasHealthy = state.withLock { state in
                defer {
                    state.window.recordSuccess()
                    state.healthy = true
                }
                return state.healthy
            }
            if !wasHealthy { logger.info("Redis connection re-established") }
        case .connectFailed(let error):
            let (wasHealthy, delay) = state.withLock { state in
                let delay = state.window.recordFailure(message: error.message)
                defer { state.healthy = false }
                return (state.healthy, delay)
            }
            let metadata: Logger.Metadata = ["error": "\(error)", "retry_in": "\(Backoff.format(delay))"]
            if wasHealthy {
                logger.warning("Cannot connect to Redis; failing fast until the next attempt", metadata: metadata)
            } else {
                logger.debug("Redis still unreachable", metadata: metadata)
            }
        case .closed(let error?, let hadWaiters):
            let isShutdown = state.withLock { state in
                if hadWaiters { state.healthy = false }
                return state.isShutdown
            }
            guard !isShutdown else { return }
            if hadWaiters {
                logger.warning("Redis connection lost", metadata: ["error": "\(error)"])
            } else {
                logger.info("Redis closed an idle connection; the next command opens a new one", metadata: ["error": "\(error)"])
            }
        case .closed(nil, _):
            break
        }
    }
}
