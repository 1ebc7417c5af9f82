import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// A small HTTP server with only `GET /metrics`, for services without an API of their own
/// (manager, worker) or for a gateway that keeps metrics off its public port
/// (`METRICS_PORT`). It binds loopback unless told otherwise.
///
/// Built on SwiftNIO's HTTP/1 codec rather than Hummingbird, so that a worker links no web
/// framework (and no full Foundation) only to be scraped: less memory per worker process
/// and a faster start.
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
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler())
                }
            }
            .bind(host: host, port: port)
            .get()
        logger.info("Serving metrics", metadata: ["address": "\(host):\(port)", "path": "/metrics"])
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

/// Answers `GET /metrics` (and `HEAD`) with the registry's text; 404 for other paths,
/// 405 with `Allow` for other methods. Keeps the connection open when the client asks to.
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var request: HTTPRequestHead?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break  // a scrape has no body; ignore one if sent
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        var headers = HTTPHeaders()
        let status: HTTPResponseStatus
        let body: [UInt8]
        switch (path, head.method) {
        case ("/metrics", .GET), ("/metrics", .HEAD):
            status = .ok
            headers.add(name: "Content-Type", value: MetricsSetup.contentType)
            body = MetricsSetup.render()
        case ("/metrics", _):
            status = .methodNotAllowed
            headers.add(name: "Allow", value: "GET, HEAD")
            body = Array("Only GET is served here.\n".utf8)
        default:
            status = .notFound
            body = Array("Not found: metrics are at /metrics.\n".utf8)
        }
        if status != .ok { headers.add(name: "Content-Type", value: "text/plain; charset=utf-8") }
        headers.add(name: "Content-Length", value: "\(body.count)")
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }

        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        if !keepAlive {
            let channel = context.channel
            written.futureResult.whenComplete { (_: Result<Void, any Error>) in channel.close(promise: nil) }
        }
    }
}
