import Foundation
import HTTPTypes
import Hummingbird
import PoolProtocol

/// An API error that renders itself as the contract's JSON
/// `{"error": {"code": ..., "message": ...}}` with its status and headers.
struct APIError: Error, HTTPResponseError, Sendable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var headers: HTTPFields = [:]

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(ErrorBody(code: code, message: message), status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    static func notFound(_ code: String, _ message: String) -> APIError {
        APIError(status: .notFound, code: code, message: message)
    }

    static func badRequest(_ message: String) -> APIError {
        APIError(status: .badRequest, code: "bad_request", message: message)
    }

    static func unprocessable(_ message: String) -> APIError {
        APIError(status: .unprocessableContent, code: "validation_failed", message: message)
    }

    /// 503 with `Retry-After`: the caller may try again later.
    static func unavailable(_ code: String, _ message: String, retryAfter: Int = 5) -> APIError {
        var headers = HTTPFields()
        headers[.retryAfter] = String(retryAfter)
        return APIError(status: .serviceUnavailable, code: code, message: message, headers: headers)
    }
}

/// JSON bodies written the one way the API writes them.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status) -> Response {
        make(body: encode(value), status: status)
    }

    /// A response with a body `encode` made earlier (answers kept for reuse).
    static func make(body: ByteBuffer, status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    static func encode(_ value: some Encodable) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":{"code":"internal","message":"encoding failed"}}"#.utf8)
        return ByteBuffer(bytes: data)
    }
}
