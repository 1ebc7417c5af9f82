import Hummingbird
import OpenAPIDocument
import Logging
import ServiceSupport

/// `/healthz` (the process is alive), `/readyz` (Redis and the database answer),
/// `/metrics` (Prometheus text) and `/openapi.json` (the API's description). They stay open without an API key, for load
/// balancers, orchestrators and client generators.
struct HealthRoutes {
    /// Answers `/readyz` from a check shared by all requests of the last second.
    let readiness: ReadinessCheck
    /// Whether `/metrics` is served here (not when `METRICS_PORT` gives it a port of its own).
    let servesMetrics: Bool

    func register(on router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in
            JSONResponse.make(["status": "ok"], status: .ok)
        }
        if servesMetrics {
            // Only at exactly this spelling: see `CanonicalMetricsPath`.
            router.get("/metrics") { _, _ in MetricsResponse.make() }
        }
        router.get("/openapi.json") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.get("/readyz") { _, _ in
            guard await readiness.current() == nil else {
                throw APIError.unavailable("not_ready", "Redis or the database does not answer.")
            }
            return JSONResponse.make(["status": "ready"], status: .ok)
        }
    }
}
