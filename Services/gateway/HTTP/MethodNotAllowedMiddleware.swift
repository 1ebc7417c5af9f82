import HTTPTypes
import Hummingbird

/// Turns the router's 404 for a path that exists under other methods into 405 with `Allow`
/// (for example `PUT /api/v1/agents/pools`), as HTTP asks.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The routes as registered on the router (filled in once registration is done).
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.methods(for: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method) else { throw error }
            var headers = HTTPFields()
            headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            throw APIError(
                status: .methodNotAllowed, code: "method_not_allowed",
                message: "\(request.method.rawValue) is not allowed here; use \(headers[.allow] ?? "")", headers: headers)
        }
    }
}
