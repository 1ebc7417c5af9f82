import Foundation
import HTTPTypes
import Hummingbird
import PoolProtocol
import TaskStore

/// The task API's query parameters, path ids and headers, validated (`invalid_request` 422,
/// unknown ids 404).
enum TaskQuery {
    /// `?wait=S`: seconds to wait for the task to end.
    static let maxWait: Double = 60

    /// `?wait=S`, a decimal from 0 to 60; nil when absent or 0 (no waiting).
    static func wait(_ parameters: Parameters) throws -> Duration? {
        guard let text = parameters.get("wait") else { return nil }
        guard let seconds = decimal(text), seconds <= maxWait else {
            throw TaskErrors.invalidRequest("`wait` must be a decimal number of seconds from 0 to \(Int(maxWait)).")
        }
        return seconds > 0 ? .seconds(seconds) : nil
    }

    /// Digits with at most one decimal point (no sign, exponent, `inf` or `nan`).
    private static func decimal(_ text: String) -> Double? {
        let digits = text.utf8.filter { (0x30...0x39).contains($0) }.count
        let points = text.utf8.filter { $0 == 0x2E }.count
        guard digits > 0, digits + points == text.utf8.count, points <= 1, text.utf8.count <= 32 else { return nil }
        return Double(text)
    }

    /// The filters of `GET /api/v1/tasks`; `pool` must be a pool of the file (checked by the caller).
    static func filter(_ parameters: Parameters) throws -> TaskFilter {
        var filter = TaskFilter()
        if let text = parameters.get("agent_id") {
            guard let id = Identifier.canonical(text) else { throw TaskErrors.invalidRequest("`agent_id` must be a UUID.") }
            filter.agentID = id
        }
        filter.pool = parameters.get("pool")
        if let text = parameters.get("status") {
            guard let status = TaskStatus(rawValue: text) else {
                throw TaskErrors.invalidRequest("Unknown status; use one of \(TaskStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            filter.status = status
        }
        if let text = parameters.get("limit") {
            guard text.utf8.count <= 8, let limit = Int(text), (1...maxLimit).contains(limit) else {
                throw TaskErrors.invalidRequest("`limit` must be an integer from 1 to \(maxLimit).")
            }
            filter.limit = limit
        }
        if let text = parameters.get("before") {
            guard let id = Identifier.canonical(text) else { throw TaskErrors.invalidRequest("`before` must be a task id (a UUID).") }
            filter.before = id
        }
        return filter
    }

    static let maxLimit = 1000

    /// The `task_id` path parameter; anything but a UUID is a task that does not exist.
    static func taskID(_ context: BasicRequestContext) throws -> String {
        let text = try context.parameters.require("task_id")
        guard let id = Identifier.canonical(text) else { throw TaskErrors.taskNotFound(text) }
        return id
    }

    /// The `agent_id` path parameter; anything but a UUID is an agent that does not exist.
    static func agentID(_ context: BasicRequestContext) throws -> String {
        let text = try context.parameters.require("agent_id")
        guard let id = Identifier.canonical(text) else { throw TaskErrors.agentNotFound(text) }
        return id
    }

    static let lastEventIDHeader = HTTPField.Name("Last-Event-ID")!

    /// `Last-Event-ID: N` (a non-negative integer; empty or absent: 0, from the start).
    /// Anything else is refused (400) rather than silently replaying from the start.
    static func lastEventID(_ headers: HTTPFields) throws -> Int {
        guard let text = headers[lastEventIDHeader]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return 0 }
        guard text.utf8.count <= 18, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let id = Int(text) else {
            throw TaskErrors.malformed("Last-Event-ID must be a non-negative integer, the `id` of the last event received.")
        }
        return id
    }
}
