import HTTPTypes
import Hummingbird
import PoolProtocol
import TaskStore

/// Submit, read, list, cancel and follow tasks (contract section 5).
///
/// Each handler checks in the contract's order: 401 (middleware), 415 and 413 (reading the
/// body), 400/422 `invalid_request` (body, headers, query), then 404 and what the store
/// decides (replay or 409 conflict, 409 `agent_not_running`, 429 `queue_full`, 503
/// `no_running_agent`).
struct TaskRoutes {
    let directory: PoolDirectory
    let service: TaskService
    let maxBodySize: Int

    func register(on group: RouterGroup<BasicRequestContext>) {
        group.post("agents/:agent_id/tasks") { request, context in
            let submit = try await Self.readSubmit(request, maxBodySize: maxBodySize)
            let agentID = try TaskQuery.agentID(context)
            return Self.accepted(
                try await service.submit(submit.body, to: .agent(agentID), idempotencyKey: submit.key, wait: submit.wait))
        }
        group.post("agents/pools/:pool_name/tasks") { request, context in
            let submit = try await Self.readSubmit(request, maxBodySize: maxBodySize)
            let pool = try directory.definition(try context.parameters.require("pool_name"))
            return Self.accepted(
                try await service.submit(submit.body, to: .pool(pool), idempotencyKey: submit.key, wait: submit.wait))
        }
        group.get("tasks") { request, _ in
            let filter = try TaskQuery.filter(request.uri.queryParameters)
            if let pool = filter.pool { _ = try directory.definition(pool) }
            return JSONResponse.make(try await service.list(filter).map(\.view), status: .ok)
        }
        group.get("tasks/:task_id") { request, context in
            let wait = try TaskQuery.wait(request.uri.queryParameters)
            let taskID = try TaskQuery.taskID(context)
            return JSONResponse.make(try await service.task(taskID, wait: wait).view, status: .ok)
        }
        group.post("tasks/:task_id/cancel") { request, context in
            // No body is needed; one sent anyway is held to the same rules (415, 413).
            var request = request
            _ = try await JSONRequestBody.collect(&request, upTo: maxBodySize)
            let taskID = try TaskQuery.taskID(context)
            return JSONResponse.make(try await service.cancel(taskID).view, status: .ok)
        }
        group.get("tasks/:task_id/events") { request, context in
            let lastEventID = try TaskQuery.lastEventID(request.headers)
            let taskID = try TaskQuery.taskID(context)
            return try await TaskEventStream(service: service).response(taskID: taskID, after: lastEventID)
        }
    }

    /// What a submit request asks for, checked before anything is looked up.
    private struct Submit: Sendable {
        var body: TaskRequest
        var key: String?
        var wait: Duration?
    }

    private static func readSubmit(_ request: Request, maxBodySize: Int) async throws -> Submit {
        var request = request
        let body = try TaskRequest.parse(try await JSONRequestBody.collect(&request, upTo: maxBodySize))
        let key = try IdempotencyKeyHeader.parse(request.headers, invalid: TaskErrors.malformed)
        return Submit(body: body, key: key, wait: try TaskQuery.wait(request.uri.queryParameters))
    }

    /// 202 while the task is unfinished, 200 once it is final (also for a replay); the
    /// task's own URL in `Location`.
    private static func accepted(_ task: TaskRecord) -> Response {
        var response = JSONResponse.make(task.view, status: task.status.isFinal ? .ok : .accepted)
        response.headers[.location] = "/api/v1/tasks/\(task.taskID)"
        return response
    }
}
