import Foundation
import PoolProtocol
import Postgres
import TestSupport

/// Task calls for the suites that watch agents do work (contract section 5), with answers as
/// JSON objects so that a test reads the fields it asserts on.
extension TestStack {
    /// Spawns an agent and returns its id.
    func spawnAgent(_ pool: String? = nil) async throws -> String {
        let reply = try await spawn(pool)
        guard reply.status == 201 else { throw SetupError("spawn answered \(reply.status): \(reply.text)") }
        return try reply.decode(AgentView.self).agentID
    }

    /// `POST /api/v1/agents/{agent_id}/tasks` with `body` (JSON text), optionally `?wait=`.
    func submitTask(agent agentID: String, body: String, wait: Double? = nil, idempotencyKey: String? = nil) async throws -> HTTPClient.Reply {
        var headers: [String: String] = [:]
        if let idempotencyKey { headers["Idempotency-Key"] = idempotencyKey }
        let query = wait.map { "?wait=\($0)" } ?? ""
        return try await http.send("POST", "/api/v1/agents/\(agentID)/tasks\(query)", body: Data(body.utf8), headers: headers)
    }

    /// Submits `input` (JSON text) and returns the accepted task's id.
    func submitTaskID(agent agentID: String, input: String, extra: String = "") async throws -> String {
        let reply = try await submitTask(agent: agentID, body: #"{"input":\#(input)\#(extra)}"#)
        guard [200, 202].contains(reply.status) else { throw SetupError("submit answered \(reply.status): \(reply.text)") }
        return try Self.field(reply, "task_id")
    }

    /// `GET /api/v1/tasks/{id}` as an object.
    func task(_ taskID: String, wait: Double? = nil) async throws -> [String: Any] {
        let reply = try await http.get("/api/v1/tasks/\(taskID)\(wait.map { "?wait=\($0)" } ?? "")")
        guard reply.status == 200, let object = try reply.json() as? [String: Any] else {
            throw SetupError("GET task answered \(reply.status): \(reply.text)")
        }
        return object
    }

    /// Waits until the task is final and returns it.
    func finalTask(_ taskID: String, timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        try await Poll.until("task \(taskID.prefix(8)) to end", timeout: timeout, every: .milliseconds(20)) {
            last = try await self.task(taskID, wait: 2)
            return TaskStatus(rawValue: last["status"] as? String ?? "")?.isFinal == true
        }
        return last
    }

    /// Waits until the task has this status.
    func waitForTask(_ taskID: String, status: TaskStatus, timeout: Duration = .seconds(30)) async throws {
        try await Poll.until("task \(taskID.prefix(8)) to be \(status.rawValue)", timeout: timeout, every: .milliseconds(20)) {
            try await self.task(taskID)["status"] as? String == status.rawValue
        }
    }

    /// The task's recorded events (kind names, in id order), read from PostgreSQL.
    func taskEvents(_ taskID: String) async throws -> [String] {
        let result = try await postgres.query("SELECT event FROM task_events WHERE task_id = $1::uuid ORDER BY id", [taskID])
        return result.rows.compactMap { $0["event"] }
    }

    static func field(_ reply: HTTPClient.Reply, _ name: String) throws -> String {
        guard let object = try reply.json() as? [String: Any], let value = object[name] as? String else {
            throw SetupError("no \(name) in \(reply.text.prefix(300))")
        }
        return value
    }
}

/// Dates of a task object's RFC 3339 fields.
func taskDate(_ task: [String: Any], _ field: String) -> Date? {
    (task[field] as? String).flatMap(Timestamp.date)
}
