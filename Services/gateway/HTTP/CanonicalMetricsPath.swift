import Foundation
import HTTPTypes
import Hummingbird

/// Serves `/metrics` only at exactly that spelling.
///
/// The router ignores empty path segments, so `/metrics/`, `/metrics//` and `//metrics`
/// would reach the metrics route too; a load balancer that blocks `location = /metrics`
/// (the usual way to keep metrics private, see deploy/nginx.conf) lets those through. Every
/// other spelling that names the same route (empty or `.` segments, percent-encoding, other
/// letter case) is answered 404, like a path that does not exist.
struct CanonicalMetricsPath<Context: RequestContext>: RouterMiddleware {
    /// The one path metrics are served at.
    static var path: String { "/metrics" }

    /// Whether `path` names the metrics route in a spelling other than the canonical one.
    static func isAlternateSpelling(_ path: String) -> Bool {
        guard path != Self.path else { return false }
        // Every other route's path, at no cost: a spelling of this one has a '%' or, in some
        // case, the letters of "metrics" (Foundation's percent decoding is dear per request).
        guard path.utf8.contains(UInt8(ascii: "%")) || path.lowercased().contains("metrics") else { return false }
        let decoded = path.removingPercentEncoding ?? path
        let segments = decoded.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        return segments.count == 1 && segments[0].lowercased() == "metrics"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.isAlternateSpelling(request.uri.path) {
            throw APIError.notFound("not_found", "No such resource.")
        }
        return try await next(request, context)
    }
}
