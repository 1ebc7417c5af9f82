import Hummingbird
import Logging
import Postgres
import Redis
import ServiceSupport

/// `/healthz` (the process is alive) and `/readyz` (Redis and the database answer).
/// Both stay open without an API key, for load balancers and orchestrators.
struct HealthRoutes {
    let clients: Clients

    func register(on router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in
            JSONResponse.make(["status": "ok"], status: .ok)
        }
        router.get("/readyz") { _, context in
            do {
                try await clients.redis.ping()
                _ = try await clients.postgres.query("SELECT 1")
                return JSONResponse.make(["status": "ready"], status: .ok)
            } catch {
                context.logger.warning("Not ready", metadata: ["error": "\(error)"])
                throw APIError.unavailable("not_ready", "Redis or the database does not answer.")
            }
        }
    }
}
