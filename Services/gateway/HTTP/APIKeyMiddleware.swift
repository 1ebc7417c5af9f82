import Foundation
import HTTPTypes
import Hummingbird

/// Requires `Authorization: Bearer <key>` with one of `API_KEYS` on every request under
/// `protectedPrefix` when keys are configured. Keys are compared in constant time and never
/// logged.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]
    let protectedSegments: [String]

    init(keys: [String], protectedPrefix: String) {
        self.keys = keys.map { Array($0.utf8) }
        self.protectedSegments = protectedPrefix.split(separator: "/").map(String.init)
    }

    /// Compared segment by segment after percent-decoding, the way the router sees the path,
    /// so that `//api/v1/...` or `/%61pi/v1/...` cannot slip past.
    func isProtected(_ path: String) -> Bool {
        let segments = (path.removingPercentEncoding ?? path).split(separator: "/", omittingEmptySubsequences: true)
        return segments.count >= protectedSegments.count
            && zip(segments, protectedSegments).allSatisfy { $0 == $1 }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keys.isEmpty, isProtected(request.uri.path) else { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw Self.unauthorized
        }
        let presented = Array(header.utf8.dropFirst("Bearer ".utf8.count))
        // Check every key without stopping early, so timing does not tell which one was close.
        var matched = false
        for key in keys where Self.constantTimeEquals(key, presented) { matched = true }
        guard matched else { throw Self.unauthorized }
        return try await next(request, context)
    }

    static var unauthorized: APIError {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Bearer"
        return APIError(
            status: .unauthorized, code: "unauthorized",
            message: "A valid API key is required: send `Authorization: Bearer <key>`.", headers: headers)
    }

    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
