import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A small HTTP server with only `GET /metrics`, for services without an API of their own
/// (manager, worker) or for a gateway that keeps metrics off its public port
/// (`METRICS_PORT`). It binds loopback unless told otherwise.
public struct MetricsServer: Service {
    let host: String
    let port: Int
    let logger: Logger

    public init(host: String = "127.0.0.1", port: Int, logger: Logger) {
        self.host = host
        self.port = port
        self.logger = logger
    }

    public func run() async throws {
        let router = Router(context: BasicRequestContext.self)
        router.get("/metrics") { _, _ in MetricsResponse.make() }
        var logger = logger
        logger[metadataKey: "metrics_port"] = "\(port)"
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "agentpool-metrics"),
            logger: logger)
        try await app.run()
    }
}

/// `/metrics` as Prometheus text.
public enum MetricsResponse {
    public static func make() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: MetricsSetup.render())))
    }
}
