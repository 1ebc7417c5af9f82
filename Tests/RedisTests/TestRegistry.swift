import Foundation
import PoolCore
import PoolProtocol
import Redis
@testable import Registry

/// Registries for the registry script suites: each test gets a pool name no other test uses,
/// and every key of that pool and its workers is removed afterwards.
enum TestRegistry {
    /// Runs `body` with a registry of a fresh pool, then removes that pool's keys.
    static func with(_ body: (PoolRegistry) async throws -> Void) async throws {
        let client = RedisClient(configuration: try TestRedis.configuration(), poolSize: 8, logger: TestRedis.logger)
        let registry = PoolRegistry(redis: client, pool: "reg\(UInt32.random(in: 0...UInt32.max))")
        do {
            try await body(registry)
        } catch {
            await cleanUp(registry)
            throw error
        }
        await cleanUp(registry)
    }

    private static func cleanUp(_ registry: PoolRegistry) async {
        for worker in (try? await registry.workers()) ?? [] { _ = try? await registry.deregister(processID: worker.processID) }
        if let keys = try? await registry.redis.send("KEYS", "pool:\(registry.pool):*").array?.compactMap(\.string), !keys.isEmpty {
            _ = try? await registry.redis.send(["DEL"] + keys)
        }
        await registry.redis.close()
    }

    /// A worker identity with a fresh process id.
    static func worker(slots: Int = 10) -> WorkerIdentity {
        WorkerIdentity(processID: Identifier.make(), pid: 4242, host: "test-host", maxAgents: slots)
    }

    /// An agent of `registry`'s pool with a fresh id.
    static func spec(_ registry: PoolRegistry, metadata: JSONObject = [:]) -> AgentSpec {
        AgentSpec(agentID: Identifier.make(), name: "a", poolName: registry.pool, role: "developer", metadata: metadata)
    }
}
