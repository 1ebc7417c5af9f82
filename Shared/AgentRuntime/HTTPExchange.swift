import NIOCore
import NIOHTTP1
import NIOPosix
import PoolConfig

/// One `POST` on its own connection (`Connection: close`), the smallest HTTP/1.1 client the
/// http runtime needs, on NIO: connect, send, collect a bounded response, close.
enum HTTPExchange {
    struct Response: Sendable {
        let status: HTTPResponseStatus
        let body: ByteBuffer
    }

    enum Failure: Error, Sendable, CustomStringConvertible {
        case connect(String)
        case timedOut(Duration)
        case tooLarge(Int)
        case broken(String)

        var description: String {
            switch self {
            case .connect(let reason): return reason
            case .timedOut(let limit): return "no answer within \(limit)"
            case .tooLarge(let limit): return "the response is larger than \(limit) bytes"
            case .broken(let reason): return reason
            }
        }
    }

    /// Posts `body` (JSON) to `endpoint`. `opened` gets the channel as soon as it is
    /// connected, so that a cancel can close it.
    static func post(
        _ body: [UInt8], to endpoint: HTTPEndpoint, group: any EventLoopGroup, connectTimeout: Duration,
        timeout: Duration, maximumResponseBytes: Int, opened: @Sendable (any Channel) -> Void
    ) async throws(Failure) -> Response {
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: Response.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(connectTimeout / .milliseconds(1))))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise, limit: maximumResponseBytes))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: endpoint.host, port: endpoint.port).get()
        } catch {
            promise.fail(error)
            throw .connect(describeConnectError(error, endpoint))
        }
        opened(channel)
        let deadline = eventLoop.scheduleTask(in: .milliseconds(Int64(timeout / .milliseconds(1)))) {
            promise.fail(Failure.timedOut(timeout))
            channel.close(promise: nil)
        }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: endpoint.target)
        head.headers.add(name: "Host", value: endpoint.hostHeader)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Accept", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(body.count)")
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "User-Agent", value: "agentpool-worker")
        var buffer = channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        do {
            return try await promise.futureResult.get()
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .broken("the connection broke: \(error)")
        }
    }

    private static func describeConnectError(_ error: any Error, _ endpoint: HTTPEndpoint) -> String {
        let text = "\(error)"
        if text.contains("connectTimeout") || text.contains("timeout") {
            return "cannot connect to \(endpoint.hostHeader): timed out"
        }
        if text.contains("refused") || text.contains("111") {
            return "cannot connect to \(endpoint.hostHeader): connection refused"
        }
        return "cannot connect to \(endpoint.hostHeader): \(text)"
    }
}

/// Collects the response head and body, at most `limit` body bytes, into the promise.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<HTTPExchange.Response>
    private let limit: Int
    private var status: HTTPResponseStatus?
    private var body: ByteBuffer?

    init(promise: EventLoopPromise<HTTPExchange.Response>, limit: Int) {
        self.promise = promise
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body(var part):
            if body == nil { body = context.channel.allocator.buffer(capacity: part.readableBytes) }
            guard (body?.readableBytes ?? 0) + part.readableBytes <= limit else {
                promise.fail(HTTPExchange.Failure.tooLarge(limit))
                body = nil
                context.close(promise: nil)
                return
            }
            body?.writeBuffer(&part)
        case .end:
            if let status {
                promise.succeed(HTTPExchange.Response(status: status, body: body ?? ByteBuffer()))
            } else {
                promise.fail(HTTPExchange.Failure.broken("the response had no status line"))
            }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(HTTPExchange.Failure.broken("the connection closed before the response was complete"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(HTTPExchange.Failure.broken("\(error)"))
        context.close(promise: nil)
    }
}
