import Foundation
import HTTPTypes
import Hummingbird

/// Reads a request body meant to be JSON, in the contract's error order: 415 for a body sent
/// with a content type other than JSON comes before 413 for one over the limit (the content
/// type is known before the body is read; a body too large is not read to its end).
enum JSONRequestBody {
    /// The body's bytes (empty when none was sent). A missing `Content-Type` is taken as JSON.
    static func collect(_ request: inout Request, upTo limit: Int) async throws -> [UInt8] {
        let declaresOther = request.headers[.contentType].map { !isJSON($0) } ?? false
        let bytes: [UInt8]
        do {
            bytes = Array(buffer: try await request.collectBody(upTo: limit))
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            if declaresOther { throw unsupportedMediaType }
            throw error
        }
        if !bytes.isEmpty, declaresOther { throw unsupportedMediaType }
        return bytes
    }

    /// `application/json`, or any `application/...+json`, with or without parameters.
    static func isJSON(_ contentType: String) -> Bool {
        let media = contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json"))
    }

    static let unsupportedMediaType = APIError(
        status: .unsupportedMediaType, code: "unsupported_media_type", message: "Send the body as application/json.")
}
