import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// The task API through the real gateway, manager and workers (contract section 5): errors in
/// the contract's order, acceptance, listing, idempotency, queue limits and cancels of queued
/// tasks. Workers are frozen while tasks are submitted, so that every task stays `queued`
/// whether or not workers run tasks.
@Suite(.serialized) struct TaskAPITests {
    static let pool = "  - name: {pool}\n    role: developer\n"

    @Test(.timeLimit(.minutes(3)))
    func errorsComeInTheContractsOrder() async throws {
        try await TestStack.with(name: "taskerrors", poolYAML: "  - name: {pool}\n    role: developer\n    min_workers: 0\n") { stack in
            try await stack.startGateway(apiKeys: "task-key")
            let pool = stack.pools[0]
            let unknownAgent = UUID().uuidString
            let agentPath = "/api/v1/agents/\(unknownAgent)/tasks"
            let poolPath = "/api/v1/agents/pools/\(pool)/tasks"
            let huge = Data(count: 2 * 1024 * 1024)
            let plain = ["Content-Type": "text/plain"]
            var anonymous = stack.http
            anonymous.apiKey = nil
            // 401 before everything, whatever else is wrong.
            for path in [agentPath, poolPath, "/api/v1/tasks", "/api/v1/tasks/\(unknownAgent)/cancel"] {
                let reply = try await anonymous.send("POST", path, body: Data("{".utf8), headers: plain)
                #expect(reply.status == 401, "\(path): \(reply.status)")
                #expect(reply.errorCode == "unauthorized")
            }
            let cases: [(String, String, Data?, [String: String], Int, String)] = [
                // 415 before 413 before 400/422 before 404.
                ("POST", agentPath, huge, plain, 415, "unsupported_media_type"),
                ("POST", agentPath, Data("x=1".utf8), plain, 415, "unsupported_media_type"),
                ("POST", agentPath, huge, [:], 413, "payload_too_large"),
                ("POST", agentPath, Data("{".utf8), [:], 400, "invalid_request"),
                ("POST", agentPath, Data(), [:], 422, "invalid_request"),
                ("POST", agentPath, Data("{}".utf8), [:], 422, "invalid_request"),
                ("POST", agentPath, Data("[1]".utf8), [:], 422, "invalid_request"),
                ("POST", agentPath, Data(#"{"input": 1, "timeout": -1}"#.utf8), [:], 422, "invalid_request"),
                ("POST", agentPath, Data(#"{"input": 1, "timeout": 0}"#.utf8), [:], 422, "invalid_request"),
                ("POST", agentPath, Data(#"{"input": 1, "timeout": "5"}"#.utf8), [:], 422, "invalid_request"),
                ("POST", agentPath, Data(#"{"input": 1, "timeout": 86401}"#.utf8), [:], 422, "invalid_request"),
                ("POST", agentPath, Data(#"{"input": 1, "max_attempts": 0}"#.utf8), [:], 422, "invalid_request"),
                ("POST", agentPath, Data(#"{"input": 1, "max_attempts": 1.5}"#.utf8), [:], 422, "invalid_request"),
                ("POST", agentPath, Data(#"{"input": 1, "max_attempts": 101}"#.utf8), [:], 422, "invalid_request"),
                ("POST", agentPath, Data(#"{"input": 1, "inptu": 2}"#.utf8), [:], 422, "invalid_request"),
                ("POST", agentPath, Data(#"{"input": "a\u0000b"}"#.utf8), [:], 422, "invalid_request"),
                ("POST", agentPath + "?wait=61", Data(#"{"input": 1}"#.utf8), [:], 422, "invalid_request"),
                ("POST", agentPath + "?wait=-1", Data(#"{"input": 1}"#.utf8), [:], 422, "invalid_request"),
                ("POST", agentPath + "?wait=abc", Data(#"{"input": 1}"#.utf8), [:], 422, "invalid_request"),
                ("POST", agentPath, Data(#"{"input": 1}"#.utf8), ["Idempotency-Key": String(repeating: "k", count: 256)], 400, "invalid_request"),
                ("POST", poolPath + "?wait=60.5", Data(#"{"input": 1}"#.utf8), [:], 422, "invalid_request"),
                // Then 404 for what does not exist.
                ("POST", agentPath, Data(#"{"input": {"any": ["json", 1, null]}}"#.utf8), [:], 404, "agent_not_found"),
                ("POST", "/api/v1/agents/not-a-uuid/tasks", Data(#"{"input": 1}"#.utf8), [:], 404, "agent_not_found"),
                ("POST", "/api/v1/agents/pools/nope/tasks", Data(#"{"input": 1}"#.utf8), [:], 404, "pool_not_found"),
                ("GET", "/api/v1/tasks/\(UUID().uuidString)", nil, [:], 404, "task_not_found"),
                ("GET", "/api/v1/tasks/\(UUID().uuidString)?wait=5", nil, [:], 404, "task_not_found"),
                ("GET", "/api/v1/tasks/\(UUID().uuidString)?wait=99", nil, [:], 422, "invalid_request"),
                ("GET", "/api/v1/tasks/not-a-uuid", nil, [:], 404, "task_not_found"),
                ("POST", "/api/v1/tasks/\(UUID().uuidString)/cancel", nil, [:], 404, "task_not_found"),
                ("POST", "/api/v1/tasks/\(UUID().uuidString)/cancel", huge, [:], 413, "payload_too_large"),
                ("GET", "/api/v1/tasks/\(UUID().uuidString)/events", nil, [:], 404, "task_not_found"),
                ("GET", "/api/v1/tasks/\(UUID().uuidString)/events", nil, ["Last-Event-ID": "x"], 400, "invalid_request"),
                ("GET", "/api/v1/tasks?pool=nope", nil, [:], 404, "pool_not_found"),
                ("GET", "/api/v1/tasks?status=sleeping", nil, [:], 422, "invalid_request"),
                ("GET", "/api/v1/tasks?limit=0", nil, [:], 422, "invalid_request"),
                ("GET", "/api/v1/tasks?limit=1001", nil, [:], 422, "invalid_request"),
                ("GET", "/api/v1/tasks?before=x", nil, [:], 422, "invalid_request"),
                ("GET", "/api/v1/tasks?agent_id=x", nil, [:], 422, "invalid_request"),
                ("PUT", "/api/v1/tasks/\(UUID().uuidString)", nil, [:], 405, "method_not_allowed"),
                // A pool without a running agent cannot take a task.
                ("POST", poolPath, Data(#"{"input": 1}"#.utf8), [:], 503, "no_running_agent"),
            ]
            for (method, path, body, headers, expected, code) in cases {
                let reply = try await stack.http.send(method, path, body: body, headers: headers)
                #expect(reply.status == expected, "\(method) \(path.prefix(80)) → \(reply.status) \(reply.text.prefix(200))")
                #expect(reply.errorCode == code, "\(method) \(path.prefix(80)): \(reply.text.prefix(200))")
            }
            let unserved = try await stack.http.send("POST", poolPath, body: Data(#"{"input": 1}"#.utf8))
            #expect(unserved.headers["retry-after"] != nil)
            let rows = try await stack.postgres.query("SELECT count(*) AS n FROM tasks WHERE pool_name = $1", [pool])
            #expect(rows.rows.first?["n"] == "0", "a refused submit created a task")
            #expect(try await stack.http.get("/api/v1/tasks?pool=\(pool)").text == "[]")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func queuedTasksAreListedReadWaitedForAndCancelled() async throws {
        try await TestStack.with(name: "tasklife", poolYAML: Self.pool, defaults: TestStack.patientDefaults) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            let other = try await stack.spawnAgent()
            let ended = try await stack.spawnAgent()
            #expect(try await stack.http.send("DELETE", "/api/v1/agents/\(ended)").status == 200)
            try await stack.withFrozenWorkers {
                // 409 for an agent that ended; nothing is created.
                let refused = try await stack.submit(agent: ended, body: #"{"input": 1}"#)
                #expect(refused.status == 409, "\(refused.text)")
                #expect(refused.errorCode == "agent_not_running")

                let input = #"{"text": "hello", "n": 1, "list": [1.5, true, null], "nested": {"k": "v"}}"#
                let first = try await stack.submit(agent: agent, body: #"{"input": \#(input), "timeout": 30, "max_attempts": 1}"#)
                #expect(first.status == 202, "\(first.text)")
                let task = try first.task
                #expect(first.headers["location"] == "/api/v1/tasks/\(task.taskID)")
                #expect(task.agentID == agent)
                #expect(task.poolName == stack.pools[0])
                #expect(task.status == .queued)
                #expect(task.attempt == 0)
                #expect(task.maxAttempts == 1)
                #expect(task.timeout == 30)
                #expect(task.output == nil && task.error == nil && task.startedAt == nil && task.finishedAt == nil)
                #expect(task.input == (try JSONDecoder().decode(JSONValue.self, from: Data(input.utf8))))
                // The delivery is on the agent's stream.
                #expect(try await stack.redis.send("XLEN", RedisKeys.agentTasks(agent)).int == 1)

                let second = try await stack.submit(agent: other, body: #"{"input": 2}"#).task
                let third = try await stack.submit(pool: stack.pools[0], body: #"{"input": null}"#).task
                #expect([agent, other].contains(third.agentID), "a pool submit goes to a running agent")
                #expect(third.input == .null)

                let read = try await stack.http.get("/api/v1/tasks/\(task.taskID)")
                #expect(read.status == 200)
                #expect(try read.task == task)

                // ?wait answers after the wait with the task still queued.
                let started = ContinuousClock.now
                let waited = try await stack.http.get("/api/v1/tasks/\(task.taskID)?wait=1.5")
                let took = ContinuousClock.now - started
                print("GET ?wait=1.5 of a queued task answered after \(took)")
                #expect(waited.status == 200)
                #expect(try waited.task.status == .queued)
                #expect(took >= .seconds(1.4) && took <= .seconds(2.5), "\(took)")

                func list(_ query: String) async throws -> [String] {
                    let reply = try await stack.http.get("/api/v1/tasks?\(query)")
                    #expect(reply.status == 200, "\(query): \(reply.text.prefix(200))")
                    return try reply.decode([TaskView].self).map(\.taskID)
                }
                let pool = stack.pools[0]
                #expect(try await list("pool=\(pool)") == [third.taskID, second.taskID, task.taskID])
                #expect(try await list("agent_id=\(other)") == [third.agentID == other ? third.taskID : nil, second.taskID].compactMap { $0 })
                #expect(try await list("pool=\(pool)&limit=2") == [third.taskID, second.taskID])
                #expect(try await list("pool=\(pool)&limit=2&before=\(second.taskID)") == [task.taskID])
                #expect(try await list("pool=\(pool)&status=cancelled") == [])

                // A waiting submit is woken by the cancel of its task.
                let key = "wait-\(UUID().uuidString)"
                async let waitingSubmit = stack.submit(agent: agent, body: #"{"input": "w"}"#, idempotencyKey: key, query: "wait=20")
                let waitingID = try await Self.taskID(stack, key: key, agent: agent)
                try await Task.sleep(for: .milliseconds(300))
                let cancelStarted = ContinuousClock.now
                let cancelled = try await stack.http.send("POST", "/api/v1/tasks/\(waitingID)/cancel")
                print("cancel of a queued task answered after \(ContinuousClock.now - cancelStarted)")
                #expect(cancelled.status == 200, "\(cancelled.text)")
                #expect(try cancelled.task.status == .cancelled)
                let woken = try await waitingSubmit
                print("the waiting submit answered \(ContinuousClock.now - cancelStarted) after the cancel")
                #expect(woken.status == 200, "a final task answers 200: \(woken.text)")
                #expect(try woken.task.status == .cancelled)
                #expect(try woken.task.finishedAt != nil)

                // Cancelling a final task answers it unchanged.
                let again = try await stack.http.send("POST", "/api/v1/tasks/\(waitingID)/cancel")
                #expect(again.status == 200)
                #expect(try again.task == (try cancelled.task))
                #expect(try await list("pool=\(pool)&status=cancelled") == [waitingID])
                #expect(try await list("pool=\(pool)&status=queued").count == 3)
            }
        }
    }

    /// The id of the task a submit with `key` created, once it is listed.
    static func taskID(_ stack: TestStack, key: String, agent: String) async throws -> String {
        var id: String?
        try await Poll.until("the task with key \(key) to be recorded") {
            let rows = try await stack.postgres.query(
                "SELECT task_id::text AS id FROM tasks WHERE agent_id = $1::uuid AND agent_key = $2", [agent, key])
            id = rows.rows.first?["id"]
            return id != nil
        }
        return try #require(id)
    }

    @Test(.timeLimit(.minutes(3)))
    func idempotencyKeysReplayTheFirstTaskInTwoSeparateSpaces() async throws {
        try await TestStack.with(name: "taskkeys", poolYAML: Self.pool, defaults: TestStack.patientDefaults) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            try await stack.withFrozenWorkers {
                let key = "order-\(UUID().uuidString)"
                let body = #"{"input": {"order": 7}, "max_attempts": 2}"#
                let replies = try await withThrowingTaskGroup(of: HTTPClient.Reply.self) { group in
                    for _ in 0..<8 { group.addTask { try await stack.submit(agent: agent, body: body, idempotencyKey: key) } }
                    return try await group.reduce(into: [HTTPClient.Reply]()) { $0.append($1) }
                }
                #expect(replies.allSatisfy { $0.status == 202 }, "\(replies.map(\.status))")
                let ids = Set(try replies.map { try $0.task.taskID })
                #expect(ids.count == 1, "one task for one key")
                let first = try #require(ids.first)

                let conflict = try await stack.submit(agent: agent, body: #"{"input": {"order": 8}, "max_attempts": 2}"#, idempotencyKey: key)
                #expect(conflict.status == 409)
                #expect(conflict.errorCode == "idempotency_key_conflict")
                let otherAttempts = try await stack.submit(agent: agent, body: #"{"input": {"order": 7}}"#, idempotencyKey: key)
                #expect(otherAttempts.status == 409, "max_attempts is part of the body")

                // The pool's keys are a space of their own: the same key makes a new task there.
                let pooled = try await stack.submit(pool: stack.pools[0], body: body, idempotencyKey: key)
                #expect(pooled.status == 202)
                let pooledID = try pooled.task.taskID
                #expect(pooledID != first)
                #expect(try await stack.submit(pool: stack.pools[0], body: body, idempotencyKey: key).task.taskID == pooledID)
                #expect(try await stack.submit(pool: stack.pools[0], body: #"{"input": 1}"#, idempotencyKey: key).status == 409)

                // Once final, a replay answers 200 with the first task as it is now.
                #expect(try await stack.http.send("POST", "/api/v1/tasks/\(first)/cancel").status == 200)
                let replay = try await stack.submit(agent: agent, body: body, idempotencyKey: key)
                #expect(replay.status == 200)
                #expect(try replay.task.taskID == first)
                #expect(try replay.task.status == .cancelled)
                let rows = try await stack.postgres.query("SELECT count(*) AS n FROM tasks WHERE pool_name = $1", [stack.pools[0]])
                #expect(rows.rows.first?["n"] == "2")
            }
        }
    }

    /// `max_queued_tasks` is 100 by default (contract section 5).
    @Test(.timeLimit(.minutes(4)))
    func theQueueIsFullExactlyAtMaxQueuedTasks() async throws {
        try await TestStack.with(name: "taskfull", poolYAML: Self.pool, defaults: TestStack.patientDefaults) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            try await stack.withFrozenWorkers {
                let limit = 100
                let started = ContinuousClock.now
                var accepted: [String] = []
                for index in 0..<limit {
                    let reply = try await stack.submit(agent: agent, body: #"{"input": \#(index)}"#, idempotencyKey: "k\(index)")
                    #expect(reply.status == 202, "task \(index): \(reply.text.prefix(200))")
                    accepted.append(try reply.task.taskID)
                }
                print("\(limit) submits took \(ContinuousClock.now - started)")
                let full = try await stack.submit(agent: agent, body: #"{"input": "one more"}"#)
                #expect(full.status == 429, "\(full.text)")
                #expect(full.errorCode == "queue_full")
                #expect(full.headers["retry-after"] == "1")
                // The pool's only running agent is full too.
                let pooled = try await stack.submit(pool: stack.pools[0], body: #"{"input": "one more"}"#)
                #expect(pooled.status == 429)
                #expect(pooled.headers["retry-after"] == "1")
                // A replay is resolved before the queue limit.
                let replay = try await stack.submit(agent: agent, body: #"{"input": 5}"#, idempotencyKey: "k5")
                #expect(replay.status == 202)
                #expect(try replay.task.taskID == accepted[5])
                // One slot freed, one more task fits, exactly.
                #expect(try await stack.http.send("POST", "/api/v1/tasks/\(accepted[0])/cancel").status == 200)
                #expect(try await stack.submit(agent: agent, body: #"{"input": "fits"}"#).status == 202)
                #expect(try await stack.submit(agent: agent, body: #"{"input": "does not"}"#).status == 429)
                let rows = try await stack.postgres.query(
                    "SELECT count(*) AS n FROM tasks WHERE agent_id = $1::uuid AND status IN ('queued', 'running')", [agent])
                #expect(rows.rows.first?["n"] == String(limit))
            }
        }
    }

    /// Pools with task settings of their own: each agent is held to its pool's limits.
    @Test(.timeLimit(.minutes(3)))
    func eachAgentIsHeldToItsOwnPoolsLimits() async throws {
        let pools = "  - name: {pool}\n    role: developer\n    max_queued_tasks: 2\n    max_attempts: 4\n    task_timeout: 9\n"
            + "  - name: {pool2}\n    role: tester\n"
        try await TestStack.with(name: "tasklimits", poolYAML: pools, defaults: TestStack.patientDefaults, poolCount: 2) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let small = try await stack.spawnAgent(stack.pools[0])
            let standard = try await stack.spawnAgent(stack.pools[1])
            try await stack.withFrozenWorkers {
                let first = try await stack.submit(agent: small, body: #"{"input": 1}"#)
                #expect(first.status == 202)
                #expect(try first.task.maxAttempts == 4)
                #expect(try first.task.timeout == 9)
                #expect(try await stack.submit(agent: small, body: #"{"input": 2}"#).status == 202)
                let full = try await stack.submit(agent: small, body: #"{"input": 3}"#)
                #expect(full.status == 429, "max_queued_tasks 2: \(full.text)")
                #expect(try await stack.submit(pool: stack.pools[0], body: #"{"input": 3}"#).status == 429)
                for index in 0..<3 {
                    let reply = try await stack.submit(agent: standard, body: #"{"input": \#(index)}"#)
                    #expect(reply.status == 202, "the other pool keeps the defaults: \(reply.text)")
                    #expect(try reply.task.maxAttempts == 3)
                }
            }
        }
    }
}
