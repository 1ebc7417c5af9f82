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
            let body = try await request.collectBody(upTo: maxBodySize)
            let bytes = Array(buffer: body)
            if !bytes.isEmpty, let type = request.headers[.contentType], !Self.isJSON(type) {
                throw APIError(status: .unsupportedMediaType, code: "unsupported_media_type", message: "Send the body as application/json.")
            }
            let spawn = try SpawnRequest.parse(bytes)
            let key = try Self.idempotencyKey(request.headers)
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

    static func isJSON(_ contentType: String) -> Bool {
        let media = contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json"))
    }

    static func idempotencyKey(_ headers: HTTPFields) throws -> String? {
        guard let key = headers[HTTPField.Name("Idempotency-Key")!] else { return nil }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw APIError.badRequest("Idempotency-Key must be 1 to 255 visible ASCII characters.")
        }
        return key
    }
}
