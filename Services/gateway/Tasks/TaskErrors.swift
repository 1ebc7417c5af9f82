import HTTPTypes

/// The task API's errors (contract section 5), each with the code clients branch on.
enum TaskErrors {
    /// 400 (`status` .badRequest: not JSON, a malformed header) or 422 (JSON, but not a valid
    /// request), both `invalid_request`.
    static func invalidRequest(_ message: String, status: HTTPResponse.Status = .unprocessableContent) -> APIError {
        APIError(status: status, code: "invalid_request", message: message)
    }

    static func malformed(_ message: String) -> APIError {
        invalidRequest(message, status: .badRequest)
    }

    static func agentNotFound(_ id: String) -> APIError {
        APIError.notFound("agent_not_found", "No agent with id `\(id.prefix(64))` (agent ids are UUIDs).")
    }

    static func taskNotFound(_ id: String) -> APIError {
        APIError.notFound("task_not_found", "No task with id `\(id.prefix(64))` (task ids are UUIDs; finished tasks are kept for the pool's task_retention).")
    }

    static let keyConflict = APIError(
        status: .conflict, code: "idempotency_key_conflict",
        message: "This Idempotency-Key was used for a task with a different body (input, timeout, max_attempts).")

    static let agentNotRunning = APIError(
        status: .conflict, code: "agent_not_running",
        message: "The agent does not accept tasks: it is terminated, failed, stopping, or was never confirmed running.")

    static var queueFull: APIError {
        var headers = HTTPFields()
        headers[.retryAfter] = "1"
        return APIError(
            status: .tooManyRequests, code: "queue_full",
            message: "The agent holds max_queued_tasks unfinished tasks (for a pool submit: every running agent does); try again shortly.",
            headers: headers)
    }

    static func noRunningAgent(_ pool: String) -> APIError {
        APIError.unavailable("no_running_agent", "Pool `\(pool)` has no running agent to take the task; spawn one, or try again shortly.")
    }

    /// The work behind the answer (the database, Redis) did not finish within the bound.
    static func dependencyTimeout(_ limit: Duration, submitting: Bool = false) -> APIError {
        let advice = submitting
            ? " The task may have been accepted: repeat the request with the same Idempotency-Key to find out."
            : " Try again shortly."
        return APIError(
            status: .gatewayTimeout, code: "dependency_timeout",
            message: "The database or Redis did not answer within \(limit).\(advice)")
    }
}
