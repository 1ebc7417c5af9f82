#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolConfig

/// What every executable reads at start: the environment (and `.env`) settings and the pool
/// file. Errors are `ConfigurationError`s naming the file, line and key; `StartupFailure`
/// turns them into one line on stderr and a non-zero exit.
public struct ServiceConfiguration: Sendable {
    public let settings: Settings
    public let pools: PoolFile

    /// Loads settings, then the pool file at `configPath` (or `POOL_CONFIG`, or `pool.yaml`).
    public static func load(configPath: String?) throws -> ServiceConfiguration {
        let settings = try Settings.load()
        let pools = try PoolFile.load(path: configPath ?? settings.poolConfigPath)
        return ServiceConfiguration(settings: settings, pools: pools)
    }

    /// The pools to serve: the one named, or every pool of the file.
    public func selectPools(_ name: String?) throws -> [PoolDefinition] {
        guard let name else { return pools.pools }
        guard let pool = pools.pool(named: name) else {
            throw StartupFailure("\(pools.path): no pool named \"\(name)\" (pools: \(pools.pools.map(\.name).joined(separator: ", ")))")
        }
        return [pool]
    }
}
