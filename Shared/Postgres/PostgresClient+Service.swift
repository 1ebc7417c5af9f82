import ServiceLifecycle

/// The client as a long-running service: it lives until graceful shutdown (or cancellation)
/// and then closes its connections, after the calls that hold one finished. Put it in the
/// `ServiceGroup` before the services that use it, so that it shuts down after them.
extension PostgresClient: Service {
    public func run() async throws {
        // Throws only on cancellation, which ends the service just the same.
        try? await gracefulShutdown()
        await close()
    }
}
