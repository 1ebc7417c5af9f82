import Logging
import Redis
import ServiceLifecycle
import Testing

/// ``RedisClient`` as a `Service`: it lives until graceful shutdown, then closes.
@Suite("RedisClient as a service")
struct RedisClientServiceTests {
    @Test("graceful shutdown of its service group closes the client", .timeLimit(.minutes(1)))
    func closesOnGracefulShutdown() async throws {
        let client = RedisClient(configuration: try TestRedis.configuration(), poolSize: 2, logger: TestRedis.logger)
        let group = ServiceGroup(services: [client], logger: TestRedis.logger)
        let running = Task { try await group.run() }
        try await client.ping()  // usable while the group runs
        let start = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        print("service group with a RedisClient ended \(ContinuousClock.now - start) after graceful shutdown")
        let error = await #expect(throws: RedisError.self) { try await client.ping() }
        #expect(error?.code == .shutdown)
    }

    @Test("cancelling its run() closes the client too", .timeLimit(.minutes(1)))
    func closesOnCancellation() async throws {
        let client = RedisClient(configuration: try TestRedis.configuration(), poolSize: 1, logger: TestRedis.logger)
        let running = Task { try await client.run() }
        try await client.ping()
        running.cancel()
        try await running.value
        let error = await #expect(throws: RedisError.self) { try await client.ping() }
        #expect(error?.code == .shutdown)
    }
}
