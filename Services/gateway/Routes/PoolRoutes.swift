import PoolConfig
import PoolProtocol
import Hummingbird

/// `GET /api/v1/agents/pools` and `GET /api/v1/agents/pools/{pool_name}`.
struct PoolRoutes {
    let directory: PoolDirectory

    func register(on group: RouterGroup<BasicRequestContext>) {
        group.get("agents/pools") { _, _ in
            JSONResponse.make(body: try await directory.figures.current().list, status: .ok)
        }
        group.get("agents/pools/:pool_name") { _, context in
            let pool = try directory.definition(try context.parameters.require("pool_name"))
            guard let body = try await directory.figures.current().details[pool.name] else {
                throw APIError.notFound("pool_not_found", "No pool named `\(pool.name)`.")
            }
            return JSONResponse.make(body: body, status: .ok)
        }
        group.get("processes") { request, _ in
            let pool = request.uri.queryParameters.get("pool")
            if let pool { _ = try directory.definition(pool) }
            return JSONResponse.make(try await directory.workers(pool: pool), status: .ok)
        }
    }
}
