import HTTPTypes
import Hummingbird

/// Turns the router's 404 for a path that exists under other methods into 405 with `Allow`
/// (for example `PUT /api/v1/agents/pools`), as HTTP asks.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Every route the gateway serves: path template (`:name` matches one segment) and methods.
    static var routes: [(template: [Substring], methods: [HTTPRequest.Method])] {
        [
            ("/healthz", [.get]), ("/readyz", [.get]), ("/metrics", [.get]), ("/openapi.json", [.get]),
            ("/", [.get, .head]), ("/dashboard", [.get, .head]), ("/dashboard/app.css", [.get, .head]),
            ("/dashboard/app.js", [.get, .head]),
            ("/api/v1/agents/pools", [.get]), ("/api/v1/agents/pools/:pool_name", [.get]),
            ("/api/v1/agents/pools/:pool_name/agents", [.post]), ("/api/v1/agents", [.get]),
            ("/api/v1/agents/:agent_id", [.get, .delete]), ("/api/v1/processes", [.get]),
        ].map { ($0.0.split(separator: "/"), $0.1) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let segments = request.uri.path.split(separator: "/")
            // Like the router, a literal segment wins over a parameter: take the most literal match.
            let matching = Self.routes.filter { Self.matches($0.template, segments) }
            let fewestParameters = matching.map { $0.template.filter { $0.hasPrefix(":") }.count }.min()
            let allowed = matching.filter { $0.template.filter { $0.hasPrefix(":") }.count == fewestParameters }.flatMap(\.methods)
            guard !allowed.isEmpty, !allowed.contains(request.method) else { throw error }
            var headers = HTTPFields()
            headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            throw APIError(
                status: .methodNotAllowed, code: "method_not_allowed",
                message: "\(request.method.rawValue) is not allowed here; use \(headers[.allow] ?? "")", headers: headers)
        }
    }

    private static func matches(_ template: [Substring], _ segments: [Substring]) -> Bool {
        template.count == segments.count && zip(template, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
    }
}
