import EventLoopExecution
import Logging
import PoolProtocol
import Redis
import Reconnect
import Synchronization

/// A worker's blocking reader of its hosted agents' task streams, on a connection of its own:
/// `XREADGROUP GROUP workers <consumer> BLOCK ... STREAMS <every hosted agent's stream> >`.
/// When the set of agents changes the read in progress is cut short (`CLIENT UNBLOCK`), so a
/// newly hosted agent's first task is not held up. Reconnects with backoff on failure.
///
/// A stream or group that is missing (Redis lost its data, or the agent never had a task) is
/// created again with its group, and reading goes on. After every (re)connection the feed
/// first reads this consumer's own pending entries (`0` instead of `>`), so that a delivery
/// whose reply was lost with a connection is delivered again: deliveries are at least once.
public final class TaskFeed: Sendable {
    private let configuration: RedisConfiguration
    private let consumer: String
    private let logger: Logger
    private let stream: AsyncStream<[TaskDelivery]>
    private let continuation: AsyncStream<[TaskDelivery]>.Continuation
    /// Wakes the unblocker when the agent set changes.
    private let changes: AsyncStream<Void>
    private let changed: AsyncStream<Void>.Continuation
    private let state = Mutex(State())

    /// How long one read blocks in Redis when nothing arrives (by default 2 s): it bounds how
    /// late the feed notices cancellation in the rare case that the socket could not be shut
    /// down, and how late a new agent's first task comes if a cut-short was missed.
    public let blockTime: Duration
    /// Entries one read returns at most.
    public static let batchSize = 64
    /// How often the unblocker tries again while the read it must cut short is not yet
    /// blocked in Redis (sent, not yet arrived).
    static let unblockRetry: Duration = .milliseconds(5)

    private struct State {
        var agents: Set<String> = []
        /// Grows with every change of `agents`.
        var generation = 0
        /// The generation the read in flight was sent for, if one is.
        var reading: Int?
        /// The reader, waiting for a first agent.
        var idle: CheckedContinuation<Void, Never>?
    }

    public init(configuration: RedisConfiguration, consumer: String, logger: Logger, blockTime: Duration = .seconds(2)) {
        self.configuration = configuration
        self.blockTime = blockTime
        self.consumer = consumer
        var logger = logger
        logger[metadataKey: "redis"] = "\(configuration.redactedDescription)"
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: [TaskDelivery].self)
        (changes, changed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Deliveries, in stream order per agent. One consumer.
    public var deliveries: AsyncStream<[TaskDelivery]> { stream }

    /// The agents whose streams are read from now on.
    public func setAgents(_ agentIDs: Set<String>) {
        let idle = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.agents != agentIDs else { return nil }
            state.agents = agentIDs
            state.generation += 1
            defer { state.idle = nil }
            return state.idle
        }
        idle?.resume()
        changed.yield()
    }

    /// Reads until cancelled.
    public func run() async {
        await RedisBlockingConnection.withConnection(configuration: configuration) { connection in
            // CLIENT UNBLOCK goes over a connection of its own: the feed's is blocked.
            let unblocker = RedisClient(configuration: configuration, poolSize: 1, logger: logger)
            await withDiscardingTaskGroup { group in
                group.addTask { await self.cutShortOnChanges(connection, using: unblocker) }
                await self.read(connection)
                group.cancelAll()
            }
            await unblocker.close()
        }
        continuation.finish()
    }

    // MARK: Reading

    private func read(_ connection: RedisBlockingConnection) async {
        var backoff = Backoff()
        var failing = false
        var ownPendingRead = false
        // Agents whose stream and group this feed made sure of: a new agent costs one
        // `XGROUP CREATE`, not one for every hosted agent (a burst of spawns would be
        // quadratic). Forgotten when Redis says a group is missing.
        var grouped: Set<String> = []
        while !Task.isCancelled {
            let (agents, generation) = state.withLock { ($0.agents, $0.generation) }
            guard !agents.isEmpty else {
                await waitForAgents(after: generation)
                continue
            }
            let agentIDs = agents.sorted()
            do throws(RedisError) {
                grouped.formIntersection(agents)
                let ungrouped = agentIDs.filter { !grouped.contains($0) }
                if !ungrouped.isEmpty {
                    try await createGroups(ungrouped, connection)
                    grouped.formUnion(ungrouped)
                }
                if !ownPendingRead {
                    yield(try await readOwnPending(agentIDs, connection))
                    ownPendingRead = true
                }
                state.withLock { $0.reading = generation }
                defer { state.withLock { $0.reading = nil } }
                let reply = try await connection.send(
                    readCommand(agentIDs, from: agentIDs.map { _ in ">" }), blocking: blockTime)
                yield(Self.deliveries(in: reply, agentIDs: agentIDs))
                if failing { logger.info("Task feed reads Redis again") }
                failing = false
                backoff.reset()
            } catch where error.code == .server && Self.isMissingGroup(error.message) {
                // A stream or its group is gone (Redis lost its data, or the leader deleted an
                // ended agent's stream): every group is made sure of again before the next read.
                grouped = []
            } catch where error.code == .cancelled || error.code == .shutdown {
                return
            } catch {
                await pause(after: error, backoff: &backoff, failing: &failing, ownPendingRead: &ownPendingRead)
            }
        }
    }

    /// Logs an outage once (later failures of the same outage at debug), then waits.
    private func pause(after error: RedisError, backoff: inout Backoff, failing: inout Bool, ownPendingRead: inout Bool) async {
        let delay = backoff.nextDelay()
        let metadata: Logger.Metadata = ["error": "\(error)", "retry_in": "\(Backoff.format(delay))"]
        if failing {
            logger.debug("Task feed still cannot read Redis", metadata: metadata)
        } else {
            logger.warning("Task feed cannot read Redis; retrying", metadata: metadata)
        }
        failing = true
        // The connection may have been lost with deliveries in its reply: read them again.
        ownPendingRead = false
        try? await Task.sleep(for: delay, clock: .eventLoop)
    }

    /// Returns once the agent set changed after `generation` (or the task is cancelled).
    private func waitForAgents(after generation: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    if state.generation != generation || Task.isCancelled { return true }
                    state.idle = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let idle = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.idle = nil }
                return state.idle
            }
            idle?.resume()
        }
    }

    /// This consumer's pending entries: delivered on an earlier connection, not acknowledged.
    private func readOwnPending(_ agentIDs: [String], _ connection: RedisBlockingConnection) async throws(RedisError) -> [TaskDelivery] {
        var cursors = Dictionary(uniqueKeysWithValues: agentIDs.map { ($0, "0") })
        var found: [TaskDelivery] = []
        while !cursors.isEmpty {
            let pending = cursors.keys.sorted()
            let reply = try await connection.send(readCommand(pending, from: pending.map { cursors[$0] ?? "0" }))
            let deliveries = Self.deliveries(in: reply, agentIDs: pending)
            found += deliveries
            // A stream that answered a full page may hold more; the others are done.
            var next: [String: String] = [:]
            for agentID in pending {
                let page = deliveries.filter { $0.agentID == agentID }
                if page.count >= Self.batchSize, let last = page.last { next[agentID] = last.entryID }
            }
            cursors = next
        }
        return found
    }

    private func readCommand(_ agentIDs: [String], from ids: [String]) -> [String] {
        var command = ["XREADGROUP", "GROUP", RedisKeys.taskConsumerGroup, consumer, "COUNT", String(Self.batchSize)]
        if ids.allSatisfy({ $0 == ">" }) { command += ["BLOCK", String(max(1, Int(blockTime / .milliseconds(1))))] }
        return command + ["STREAMS"] + agentIDs.map(RedisKeys.agentTasks) + ids
    }

    private func createGroups(_ agentIDs: [String], _ connection: RedisBlockingConnection) async throws(RedisError) {
        for agentID in agentIDs {
            do throws(RedisError) {
                _ = try await connection.send(["XGROUP", "CREATE", RedisKeys.agentTasks(agentID), RedisKeys.taskConsumerGroup, "0", "MKSTREAM"])
            } catch where error.code == .server && error.message.hasPrefix("BUSYGROUP") {
                continue
            }
        }
    }

    /// `NOGROUP` (no stream or no group), or `UNBLOCKED` (a blocked read whose stream was
    /// deleted meanwhile).
    static func isMissingGroup(_ message: String) -> Bool {
        message.hasPrefix("NOGROUP") || message.hasPrefix("UNBLOCKED")
    }

    private func yield(_ deliveries: [TaskDelivery]) {
        if !deliveries.isEmpty { continuation.yield(deliveries) }
    }

    /// The deliveries of an `XREADGROUP` reply (`[[stream, [entry, ...]], ...]`, nil when the
    /// read timed out or was cut short).
    static func deliveries(in reply: RedisReply, agentIDs: [String]) -> [TaskDelivery] {
        guard let streams = reply.array else { return [] }
        let agentsByKey = Dictionary(uniqueKeysWithValues: agentIDs.map { (RedisKeys.agentTasks($0), $0) })
        var deliveries: [TaskDelivery] = []
        for stream in streams {
            guard let parts = stream.array, parts.count == 2, let key = parts[0].string, let agentID = agentsByKey[key],
                  let entries = parts[1].array
            else { continue }
            deliveries += entries.compactMap { TaskStreamEntry.delivery(from: $0, agentID: agentID) }
        }
        return deliveries
    }

    // MARK: Cutting a read short

    /// After each change of the agent set, cuts short the read in flight that was sent for an
    /// older set. `CLIENT UNBLOCK` answers 0 while the read is not yet blocked in Redis (sent,
    /// still on its way): try again shortly, until the reader moved on.
    private func cutShortOnChanges(_ connection: RedisBlockingConnection, using unblocker: RedisClient) async {
        var failing = false
        for await _ in changes {
            while !Task.isCancelled {
                let stale = state.withLock { state in state.reading.map { $0 < state.generation } ?? false }
                guard stale else { break }
                // No id yet: the reader is connecting again; it is known once it is connected.
                guard let clientID = connection.clientID else {
                    try? await Task.sleep(for: Self.unblockRetry, clock: .eventLoop)
                    continue
                }
                do {
                    if try await unblocker.send("CLIENT", "UNBLOCK", String(clientID)).int == 1 { break }
                    failing = false
                } catch {
                    if !failing { logger.warning("Task feed cannot cut its read short", metadata: ["error": "\(error)"]) }
                    failing = true
                    break  // the read ends by itself within the block time
                }
                try? await Task.sleep(for: Self.unblockRetry, clock: .eventLoop)
            }
        }
    }
}
