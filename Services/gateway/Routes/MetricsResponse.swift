import Hummingbird
import NIOCore
import ServiceSupport

/// `/metrics` on the gateway's own port, as Prometheus text.
enum MetricsResponse {
    static func make() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = MetricsSetup.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: MetricsSetup.render())))
    }
}
