import Foundation
import Logging
import PoolProtocol
import Postgres
import Redis
import Synchronization
import Testing
import TestSupport

/// The cancel of a running task through the real gateway: `cancel_task` goes to the worker
/// hosting the agent, and when nobody answers within the grace period (5 s) the gateway ends
/// the task itself and answers within the grace period plus a second. The hosting worker is
/// frozen and the attempt is started in PostgreSQL by the test, as a worker would record it,
/// so the worker never answers whatever the worker side does with tasks.
@Suite(.serialized) struct TaskCancelTests {
    @Test(.timeLimit(.minutes(3)))
    func aRunningTaskWhoseWorkerIsSilentEndsCancelledAfterTheGracePeriod() async throws {
        try await TestStack.with(name: "taskcancel", poolYAML: TaskAPITests.pool, defaults: TestStack.patientDefaults) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            let host = try await stack.host(of: agent)
            try await stack.withFrozenWorkers {
                let task = try await stack.submit(agent: agent, body: #"{"input": "long work"}"#).task
                try await Self.startAttempt(task.taskID, owner: host, stack)
                #expect(try await stack.http.get("/api/v1/tasks/\(task.taskID)").task.status == .running)

                try await CommandChannel.listen(to: host) { channel in
                    async let waiting = stack.http.get("/api/v1/tasks/\(task.taskID)?wait=30")
                    let started = ContinuousClock.now
                    let reply = try await stack.http.send("POST", "/api/v1/tasks/\(task.taskID)/cancel")
                    let took = ContinuousClock.now - started
                    print("the cancel of a running task with a silent worker answered \(reply.status) after \(took) (grace 5 s)")
                    #expect(reply.status == 200, "\(reply.text)")
                    #expect(try reply.task.status == .cancelled)
                    #expect(took >= .seconds(4.9), "answered before the grace period ended: \(took)")
                    #expect(took <= .seconds(6), "answered later than the grace period + 1 s: \(took)")
                    #expect(channel.lines.contains(.cancelTask(CancelTask(targetProcessID: host, agentID: agent, taskID: task.taskID))),
                            "cancel_task did not reach the worker's channel: \(channel.lines)")
                    let woken = try await waiting
                    print("a GET ?wait=30 answered \(ContinuousClock.now - started) after the cancel began")
                    #expect(try woken.task.status == .cancelled)
                }
                let events = ServerSentEvents.parse(try await stack.http.get("/api/v1/tasks/\(task.taskID)/events").text)
                #expect(events.map(\.event) == ["queued", "started", "cancelled"], "\(events)")
                #expect(ServerSentEvents.data(events.last ?? ServerSentEvent(data: ""))?["attempt"] as? Int == 1)
            }
        }
    }

    /// Records the start of attempt 1 as a worker does (status, attempt, owner, the `started`
    /// event), straight in PostgreSQL.
    static func startAttempt(_ taskID: String, owner: String, _ stack: TestStack) async throws {
        let updated = try await stack.postgres.query(
            """
            WITH started AS (
                UPDATE tasks SET status = 'running', attempt = 1, owner = $2::uuid, started_at = now(), updated_at = now(),
                       event_seq = event_seq + 1
                WHERE task_id = $1::uuid AND status = 'queued'
                RETURNING task_id, event_seq)
            INSERT INTO task_events (task_id, id, event, data)
            SELECT task_id, event_seq, 'started', '{"attempt": 1}'::jsonb FROM started
            RETURNING id
            """, [taskID, owner])
        guard updated.rows.count == 1 else { throw SetupError("task \(taskID) could not be started by hand") }
    }
}

/// The lines published on one worker's command channel while a test listens.
final class CommandChannel: Sendable {
    private let received = Mutex<[PoolMessage]>([])

    var lines: [PoolMessage] { received.withLock { $0 } }

    static func listen(to processID: String, _ body: (CommandChannel) async throws -> Void) async throws {
        let channel = CommandChannel()
        let environment = try TestEnvironment.load()
        let subscriber = RedisSubscriber(
            configuration: try RedisConfiguration(url: environment.redisURL), channels: [RedisKeys.processCommands(processID)],
            logger: Logger(label: "test"))
        let subscribed = Mutex(false)
        let reading = Task {
            for await event in subscriber.events {
                switch event {
                case .subscribed: subscribed.withLock { $0 = true }
                case .message(_, let payload):
                    if let message = try? MessageCodec.decode(payload) { channel.received.withLock { $0.append(message) } }
                }
            }
        }
        let running = Task { await subscriber.run() }
        defer {
            running.cancel()
            reading.cancel()
        }
        try await Poll.until("the test to listen on \(RedisKeys.processCommands(processID))") { subscribed.withLock { $0 } }
        try await body(channel)
    }
}
