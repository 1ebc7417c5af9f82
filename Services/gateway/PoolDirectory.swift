import PoolConfig
import PoolCore
import PoolProtocol

/// The pools of the pool file and their live figures from the registry.
struct PoolDirectory: Sendable {
    let pools: [PoolDefinition]
    let reader: RegistryReader
    /// The pools endpoints' answers, kept briefly (see `PoolFigures`).
    let figures: PoolFigures

    init(pools: [PoolDefinition], reader: RegistryReader) {
        self.pools = pools
        self.reader = reader
        figures = PoolFigures(pools: pools, reader: reader)
    }

    func definition(_ name: String) throws -> PoolDefinition {
        guard let pool = pools.first(where: { $0.name == name }) else {
            throw APIError.notFound("pool_not_found", "No pool named `\(name.prefix(64))`.")
        }
        return pool
    }

    /// Workers of every pool (or of one), read now.
    func workers(pool: String?) async throws -> [WorkerView] {
        try await reader.read(pools.filter { pool == nil || $0.name == pool }).flatMap { $0.workers.map(\.view) }
    }
}
