import Foundation
import PoolProtocol
import HTTPTypes
import Hummingbird
import Logging

/// Makes every failure a JSON error with a fitting status: never an HTML page, a stack trace
/// or an empty 500. Unexpected errors are logged with the request id and answered 500
/// (or 503 when a dependency is down) without internals.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            return JSONResponse.make(
                ErrorBody(code: Self.code(for: error.status), message: Self.message(for: error.status)),
                status: error.status)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if let dependency = DependencyFailure.unavailable(error) {
                // Not a bug of ours nor the client's: a warning, and an answer that says retry.
                context.logger.warning("Request refused: a dependency cannot serve it now", metadata: ["error": "\(error)"])
                return try APIError.unavailable(
                    "dependency_unavailable",
                    "\(dependency.rawValue) is busy, starting or unreachable and cannot serve this request now; try again shortly.")
                    .response(from: request, context: context)
            }
            context.logger.error("Request failed", metadata: ["error": "\(error)"])
            return JSONResponse.make(
                ErrorBody(code: "internal_error", message: "The request could not be completed."), status: .internalServerError)
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .contentTooLarge: "payload_too_large"
        case .unsupportedMediaType: "unsupported_media_type"
        case .badRequest: "bad_request"
        case .unauthorized: "unauthorized"
        default: status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
        }
    }

    static func message(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "No such resource."
        case .methodNotAllowed: "This method is not allowed on this path."
        case .contentTooLarge: "The request body exceeds the limit."
        default: status.reasonPhrase
        }
    }
}
