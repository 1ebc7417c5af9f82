import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing

/// Agents doing work on real processes (contract section 5): the builtin runtimes through the
/// whole path, gateway → PostgreSQL → stream → worker → runtime → PostgreSQL → `?wait`.
@Suite(.serialized) struct AgentWorkTests {
    static let echoPool = "  - name: {pool}\n    role: developer\n"
    static func sleepPool(_ extra: String = "") -> String {
        "  - name: {pool}\n    role: developer\n    runtime: {kind: builtin, name: sleep}\n\(extra)"
    }

    @Test(.timeLimit(.minutes(2)))
    func anEchoTaskAnswersItsOutputWithinTheWait() async throws {
        try await TestStack.with(name: "workecho", poolYAML: Self.echoPool) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            var times: [Duration] = []
            for index in 0..<20 {
                let started = ContinuousClock.now
                let reply = try await stack.submitTask(agent: agent, body: #"{"input":{"n":\#(index),"text":"héllo"}}"#, wait: 10)
                times.append(ContinuousClock.now - started)
                #expect(reply.status == 200, "\(reply.text)")
                let task = try #require(try reply.json() as? [String: Any])
                #expect(task["status"] as? String == "succeeded")
                #expect((task["output"] as? [String: Any])?["n"] as? Int == index)
                #expect((task["output"] as? [String: Any])?["text"] as? String == "héllo")
                #expect(task["attempt"] as? Int == 1)
                #expect(task["error"] is NSNull)
                // The answer came from the outcome's wake-up, not a read: it is the row all the same.
                let row = try await stack.task(try #require(task["task_id"] as? String))
                #expect(NSDictionary(dictionary: task) == NSDictionary(dictionary: row), "\(task) against \(row)")
            }
            print("echo round trips with ?wait: first \(times[0]), median \(times.sorted()[times.count / 2])")
            // An output too large to ride on the wake-up is read from PostgreSQL, and answered whole.
            let large = String(repeating: "x", count: 20_000)
            let reply = try await stack.submitTask(agent: agent, body: #"{"input":{"large":"\#(large)"}}"#, wait: 10)
            #expect(reply.status == 200, "\(reply.text.prefix(300))")
            let task = try #require(try reply.json() as? [String: Any])
            #expect((task["output"] as? [String: Any])?["large"] as? String == large)
            let row = try await stack.task(try #require(task["task_id"] as? String))
            #expect(NSDictionary(dictionary: task) == NSDictionary(dictionary: row))
            let taskID = try await stack.submitTaskID(agent: agent, input: "[1,2,3]")
            _ = try await stack.finalTask(taskID)
            #expect(try await stack.taskEvents(taskID) == ["queued", "started", "succeeded"])
            // Where the time of one round trip goes, by the events' commit clocks.
            let steps = try await stack.postgres.query(
                "SELECT event, extract(epoch FROM created_at)::float8 AS at FROM task_events WHERE task_id = $1::uuid ORDER BY id", [taskID])
            let clocks = steps.rows.compactMap { $0["at"].flatMap(Double.init) }
            if clocks.count == 3 {
                print("echo: queued → started \((clocks[1] - clocks[0]) * 1000) ms, started → succeeded \((clocks[2] - clocks[1]) * 1000) ms")
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func tasksStartInTheirAgentsOrderOneAtATime() async throws {
        try await TestStack.with(name: "workorder", poolYAML: Self.sleepPool()) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            // Submitted concurrently: the order is the one the agent numbered them in.
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<6 { group.addTask { try await stack.submitTaskID(agent: agent, input: #"{"seconds":0.15}"#) } }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            var tasks: [[String: Any]] = []
            for id in ids { tasks.append(try await stack.finalTask(id)) }
            tasks.sort { ($0["seq"] as? Int ?? 0) < ($1["seq"] as? Int ?? 0) }
            #expect(tasks.map { $0["seq"] as? Int ?? 0 } == Array(1...6))
            #expect(tasks.allSatisfy { $0["status"] as? String == "succeeded" })
            for (earlier, later) in zip(tasks, tasks.dropFirst()) {
                let finished = try #require(taskDate(earlier, "finished_at"))
                let started = try #require(taskDate(later, "started_at"))
                #expect(started >= finished, "task \(later["seq"] ?? 0) started before \(earlier["seq"] ?? 0) ended")
            }
            let span = try #require(taskDate(tasks[5], "finished_at")).timeIntervalSince(try #require(taskDate(tasks[0], "started_at")))
            print("6 tasks of 0.15 s one at a time took \(span) s")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func taskConcurrencyRunsThatManyAtOnceAndNoMore() async throws {
        try await TestStack.with(name: "workconc", poolYAML: Self.sleepPool("    task_concurrency: 2\n")) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            var ids: [String] = []
            for _ in 0..<6 { ids.append(try await stack.submitTaskID(agent: agent, input: #"{"seconds":0.6}"#)) }
            var intervals: [(Date, Date)] = []
            for id in ids {
                let task = try await stack.finalTask(id)
                #expect(task["status"] as? String == "succeeded")
                intervals.append((try #require(taskDate(task, "started_at")), try #require(taskDate(task, "finished_at"))))
            }
            // At every start, how many ran at once (itself included).
            let overlaps = intervals.map { start, _ in intervals.filter { $0.0 <= start && start < $0.1 }.count }
            print("concurrency 2, running at each start: \(overlaps)")
            #expect(overlaps.max() == 2)
            let starts = intervals.map(\.0)
            #expect(starts == starts.sorted(), "tasks started out of order")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aTimedOutTaskIsRetriedThenEndsTimedOut() async throws {
        try await TestStack.with(name: "worktimeout", poolYAML: Self.sleepPool("    task_timeout: 0.4\n    max_attempts: 2\n")) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            let started = ContinuousClock.now
            let taskID = try await stack.submitTaskID(agent: agent, input: #"{"seconds":30}"#)
            let task = try await stack.finalTask(taskID)
            print("timed out twice after \(ContinuousClock.now - started) (0.4 s each, 1 s backoff)")
            #expect(task["status"] as? String == "timed_out")
            #expect(task["attempt"] as? Int == 2)
            #expect((task["error"] as? [String: Any])?["retryable"] as? Bool == true)
            #expect(try await stack.taskEvents(taskID) == ["queued", "started", "retrying", "started", "timed_out"])
            // A task's own timeout wins over the pool's.
            let own = try await stack.submitTaskID(agent: agent, input: #"{"seconds":0.8}"#, extra: #","timeout":5"#)
            #expect(try await stack.finalTask(own)["status"] as? String == "succeeded")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func retryableErrorsRunAgainAndFinalOnesEndAtOnce() async throws {
        let pool = "  - name: {pool}\n    role: developer\n    runtime: {kind: builtin, name: fail}\n    max_attempts: 3\n"
        try await TestStack.with(name: "workfail", poolYAML: pool) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            let final = try await stack.submitTaskID(agent: agent, input: #"{"message":"bad input","retryable":false}"#)
            let retried = try await stack.submitTaskID(agent: agent, input: #"{"message":"try later","retryable":true}"#)
            let finalTask = try await stack.finalTask(final)
            #expect(finalTask["status"] as? String == "failed")
            #expect(finalTask["attempt"] as? Int == 1)
            #expect((finalTask["error"] as? [String: Any])?["message"] as? String == "bad input")
            #expect((finalTask["error"] as? [String: Any])?["retryable"] as? Bool == false)
            let started = ContinuousClock.now
            let retriedTask = try await stack.finalTask(retried)
            print("three retryable failures ended after \(ContinuousClock.now - started) (backoffs 1 s + 2 s)")
            #expect(retriedTask["status"] as? String == "failed")
            #expect(retriedTask["attempt"] as? Int == 3)
            #expect(try await stack.taskEvents(retried) == ["queued", "started", "retrying", "started", "retrying", "started", "failed"])
            // The attempt's starts respect the backoff: 1 s, then 2 s.
            let events = try await stack.postgres.query(
                "SELECT extract(epoch FROM created_at)::float8 AS at FROM task_events WHERE task_id = $1::uuid AND event = 'started' ORDER BY id",
                [retried])
            let starts = events.rows.compactMap { $0["at"].flatMap(Double.init) }
            #expect(starts.count == 3)
            if starts.count == 3 {
                print("gaps between attempts: \(starts[1] - starts[0]) s, \(starts[2] - starts[1]) s")
                #expect(starts[1] - starts[0] >= 0.95)
                #expect(starts[2] - starts[1] >= 1.95)
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func cancellingARunningTaskEndsItCancelledAndTheNextOneRuns() async throws {
        try await TestStack.with(name: "workcancel", poolYAML: Self.sleepPool()) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            let long = try await stack.submitTaskID(agent: agent, input: #"{"seconds":60}"#)
            let next = try await stack.submitTaskID(agent: agent, input: #"{"seconds":0.1}"#)
            try await stack.waitForTask(long, status: .running)
            let started = ContinuousClock.now
            let reply = try await stack.http.send("POST", "/api/v1/tasks/\(long)/cancel")
            let took = ContinuousClock.now - started
            print("cancel of a running sleep answered \(reply.status) after \(took)")
            #expect(reply.status == 200, "\(reply.text)")
            #expect((try reply.json() as? [String: Any])?["status"] as? String == "cancelled")
            #expect(took < .seconds(6), "a cancel answers within the grace period + 1 s")
            #expect(try await stack.finalTask(next)["status"] as? String == "succeeded")
            // Cancelling a final task answers it unchanged.
            let again = try await stack.http.send("POST", "/api/v1/tasks/\(long)/cancel")
            #expect(again.status == 200)
            #expect(try await stack.taskEvents(long).filter { $0 == "cancelled" }.count == 1)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func terminatingAnAgentCancelsItsRunningAndQueuedTasks() async throws {
        try await TestStack.with(name: "workterm", poolYAML: Self.sleepPool()) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            var ids: [String] = []
            for _ in 0..<4 { ids.append(try await stack.submitTaskID(agent: agent, input: #"{"seconds":30}"#)) }
            try await stack.waitForTask(ids[0], status: .running)
            let deleted = try await stack.http.send("DELETE", "/api/v1/agents/\(agent)")
            #expect(deleted.status == 200, "\(deleted.text)")
            for id in ids {
                let task = try await stack.task(id)
                #expect(task["status"] as? String == "cancelled", "\(id): \(task["status"] ?? "?")")
            }
            let refused = try await stack.submitTask(agent: agent, body: #"{"input":1}"#)
            #expect(refused.status == 409, "\(refused.text)")
            // The agent's stream went with it.
            #expect(try await stack.redis.send("EXISTS", RedisKeys.agentTasks(agent)).int == 0)
        }
    }
}
