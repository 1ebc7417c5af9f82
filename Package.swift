// swift-tools-version: 6.1
import PackageDescription

/// Settings every AgentPool target shares: Swift 6 mode (strict concurrency) plus the
/// upcoming features that keep imports and existentials explicit.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let lifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals: Target.Dependency = .product(name: "UnixSignals", package: "swift-service-lifecycle")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "AgentPool",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gateway", targets: ["gateway"]),
        .executable(name: "manager", targets: ["manager"]),
        .executable(name: "worker", targets: ["worker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries from Debian's -dev packages, nothing else in these folders.
        .systemLibrary(
            name: "CHiredis", path: "Shared/CHiredis", pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(
            name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CYAML", path: "Shared/CYAML", pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]),

        // Thin Swift clients that own the C handles.
        .target(
            name: "Redis", dependencies: ["CHiredis", nioPosix, logging],
            path: "Shared/Redis", swiftSettings: strictSettings),
        .target(
            name: "Postgres", dependencies: ["CLibPQ", nioPosix, logging],
            path: "Shared/Postgres", swiftSettings: strictSettings),
        .target(
            name: "YAML", dependencies: ["CYAML"],
            path: "Shared/YAML", swiftSettings: strictSettings),

        // pool.yaml and environment settings, validated at load.
        .target(
            name: "PoolConfig", dependencies: ["YAML", "Redis", "Postgres"],
            path: "Shared/PoolConfig", swiftSettings: strictSettings),
        // Redis key names, line-protocol messages and the API's JSON shapes.
        .target(
            name: "PoolProtocol", dependencies: [],
            path: "Shared/PoolProtocol", swiftSettings: strictSettings),
        // Pure decisions: placement, scaling, staleness, reconciliation.
        .target(
            name: "PoolCore", dependencies: ["PoolProtocol"],
            path: "Shared/PoolCore", swiftSettings: strictSettings),
        // The agents table in PostgreSQL (the desired state).
        .target(
            name: "AgentStore", dependencies: ["Postgres", "PoolProtocol", logging],
            path: "Shared/AgentStore", swiftSettings: strictSettings),
        // The live registry in Redis (what runs), with its Lua scripts.
        .target(
            name: "Registry", dependencies: ["Redis", "PoolProtocol", "PoolCore", logging],
            path: "Shared/Registry", swiftSettings: strictSettings),
        // What every executable does at start: settings, logging, clean fatal errors.
        .target(
            name: "ServiceSupport",
            dependencies: [
                "PoolConfig", "PoolCore", "Redis", "Postgres", "AgentStore", logging, lifecycle, metrics, hummingbird,
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Shared/ServiceSupport", swiftSettings: strictSettings),

        // The three executables.
        .executableTarget(
            name: "gateway",
            dependencies: [
                "ServiceSupport", "Registry", "AgentStore", "PoolProtocol", "PoolConfig",
                hummingbird, metrics, argumentParser, lifecycle, unixSignals, logging,
            ],
            path: "Services/gateway", swiftSettings: strictSettings),
        .executableTarget(
            name: "manager",
            dependencies: [
                "ServiceSupport", "Registry", "AgentStore", "PoolProtocol", "PoolCore", "PoolConfig",
                metrics, argumentParser, lifecycle, unixSignals, logging,
            ],
            path: "Services/manager", swiftSettings: strictSettings),
        .executableTarget(
            name: "worker",
            dependencies: [
                "ServiceSupport", "Registry", "AgentStore", "PoolProtocol", "PoolConfig",
                metrics, argumentParser, lifecycle, unixSignals, logging,
            ],
            path: "Services/worker", swiftSettings: strictSettings),

        // Unit tests (no servers) and integration tests (real servers, real executables).
        .testTarget(
            name: "ConfigTests", dependencies: ["YAML", "PoolConfig", "Redis", "Postgres"],
            path: "Tests/ConfigTests", swiftSettings: strictSettings),
        .testTarget(
            name: "CoreTests", dependencies: ["PoolCore", "PoolProtocol"],
            path: "Tests/CoreTests", swiftSettings: strictSettings),
        .testTarget(
            name: "RedisTests", dependencies: ["Redis", "Registry", "PoolProtocol", "PoolCore"],
            path: "Tests/RedisTests", swiftSettings: strictSettings),
        .testTarget(
            name: "PostgresTests", dependencies: ["Postgres", "AgentStore", "PoolProtocol"],
            path: "Tests/PostgresTests", swiftSettings: strictSettings),
        .testTarget(
            name: "IntegrationTests", dependencies: ["Redis", "Postgres", "PoolProtocol"],
            path: "Tests/IntegrationTests", swiftSettings: strictSettings),
    ]
)
