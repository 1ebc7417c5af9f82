import Foundation
import AgentStore
import HTTPTypes
import Hummingbird
import PoolProtocol

/// Spawn, list, inspect and terminate agents.
struct AgentRoutes {
    let directory: PoolDirectory
    let lifecycle: AgentLifecycle
    let store: AgentStore
    let maxBodySize: Int

    func register(on group: RouterGroup<BasicRequestContext>) {
        group.post("agents/pools/:pool_name/agents") { request, context in
            let pool = try directory.definition(try context.parameters.require("pool_name"))
            var request = request
            let spawn = try SpawnRequest.parse(try await JSONRequestBody.collect(&request, upTo: maxBodySize))
            let key = try IdempotencyKeyHeader.parse(request.headers)
            // Whatever the outcome, the pool's figures may have moved: a client reading them
            // next must see it (see `PoolFigures`).
            defer { directory.figures.invalidate() }
            return JSONResponse.make(try await lifecycle.spawn(pool: pool, request: spawn, idempotencyKey: key), status: .created)
        }
        group.get("agents") { request, _ in
            let pool = request.uri.queryParameters.get("pool")
            if let pool { _ = try directory.definition(pool) }
            var status: AgentStatus?
            if let text = request.uri.queryParameters.get("status") {
                guard let parsed = AgentStatus(rawValue: text) else {
                    throw APIError.unprocessable("Unknown status; use one of \(AgentStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                status = parsed
            }
            return JSONResponse.make(try await store.list(pool: pool, status: status).map(\.view), status: .ok)
        }
        group.get("agents/:agent_id") { _, context in
            let id = try Self.agentID(context)
            guard let record = try await store.fetch(id: id) else {
                throw APIError.notFound("agent_not_found", "No agent with id `\(id)`.")
            }
            return JSONResponse.make(record.view, status: .ok)
        }
        group.delete("agents/:agent_id") { _, context in
            defer { directory.figures.invalidate() }
            return JSONResponse.make(try await lifecycle.terminate(agentID: try Self.agentID(context)), status: .ok)
        }
    }

    static func agentID(_ context: BasicRequestContext) throws -> String {
        let text = try context.parameters.require("agent_id")
        guard let id = Identifier.canonical(text) else {
            throw APIError.notFound("agent_not_found", "No agent with id `\(text.prefix(64))` (agent ids are UUIDs).")
        }
        return id
    }
}
