import PoolProtocol
import Hummingbird

/// `GET /api/v1/agents/pools` and `GET /api/v1/agents/pools/{pool_name}`.
struct PoolRoutes {
    let directory: PoolDirectory

    func register(on group: RouterGroup<BasicRequestContext>) {
        group.get("agents/pools") { _, _ in
            var all = [PoolStats]()
            for pool in directory.pools { all.append(try await directory.stats(pool, includeWorkers: false)) }
            return JSONResponse.make(all, status: .ok)
        }
        group.get("agents/pools/:pool_name") { _, context in
            let pool = try directory.definition(try context.parameters.require("pool_name"))
            return JSONResponse.make(try await directory.stats(pool, includeWorkers: true), status: .ok)
        }
        group.get("processes") { request, _ in
            let pool = request.uri.queryParameters.get("pool")
            if let pool { _ = try directory.definition(pool) }
            return JSONResponse.make(try await directory.workers(pool: pool), status: .ok)
        }
    }
}
