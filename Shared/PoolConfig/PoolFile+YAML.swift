import YAML

/// Turns a decoded `pool.yaml` into checked ``PoolDefinition`` values: applies `defaults:`
/// and the built-in defaults, and checks every rule, naming the line and key path of the
/// value at fault.
struct PoolFileValidator {
    /// Durations above this (about 31 years) are surely typos, and bigger values risk
    /// overflowing `Duration`.
    static let maximumSeconds = 1_000_000_000.0
    static let maximumAgentsPerProcess = 100_000
    /// Attempts, queued tasks and concurrency above this are surely typos.
    static let maximumCount = 1_000_000

    let fileName: String

    func pools(from document: PoolFileDocument) throws(ConfigurationError) -> [PoolDefinition] {
        let defaults = document.defaults ?? PoolSettingsDocument()
        try checkEachValue(of: defaults)
        guard !document.pools.value.isEmpty else {
            throw error(document.pools.mark, document.pools.path, "must list at least one pool")
        }
        var firstLineOfName: [String: Int] = [:]
        var definitions: [PoolDefinition] = []
        for entry in document.pools.value {
            let pool = entry.value
            try checkName(pool.name)
            try checkName(pool.role)
            if let line = firstLineOfName[pool.name.value] {
                throw error(pool.name, "duplicate pool name \"\(pool.name.value)\" (first defined on line \(line))")
            }
            firstLineOfName[pool.name.value] = pool.name.mark.line
            try checkEachValue(of: pool.settings)
            definitions.append(try definition(of: entry, defaults: defaults))
        }
        return definitions
    }

    /// Applies defaults to one pool and checks the rules that relate two keys.
    private func definition(
        of entry: YAMLLocated<PoolEntryDocument>, defaults: PoolSettingsDocument
    ) throws(ConfigurationError) -> PoolDefinition {
        let own = entry.value.settings
        func resolve<V>(_ key: KeyPath<PoolSettingsDocument, YAMLLocated<V>?>, _ builtIn: V, _ name: String) -> ResolvedSetting<V> {
            ResolvedSetting(pool: own[keyPath: key], defaults: defaults[keyPath: key], builtIn: builtIn, key: name, entry: entry)
        }
        let heartbeat = resolve(\.heartbeatInterval, 30, "heartbeat_interval")
        let stale = resolve(\.staleAfter, 300, "stale_after")
        if stale.value <= heartbeat.value {
            if stale.source == .pool || heartbeat.source != .pool {
                throw error(stale.mark, stale.path, "must be greater than heartbeat_interval (\(Self.seconds(heartbeat.value))\(heartbeat.originNote)), found \(Self.seconds(stale.value))")
            }
            throw error(heartbeat.mark, heartbeat.path, "must be less than stale_after (\(Self.seconds(stale.value))\(stale.originNote)), found \(Self.seconds(heartbeat.value))")
        }
        let minWorkers = resolve(\.minWorkers, 1, "min_workers")
        let maxWorkers = resolve(\.maxWorkers, 10, "max_workers")
        if minWorkers.value > maxWorkers.value {
            if minWorkers.source == .pool || maxWorkers.source != .pool {
                throw error(minWorkers.mark, minWorkers.path, "must not exceed max_workers (\(maxWorkers.value)\(maxWorkers.originNote)), found \(minWorkers.value)")
            }
            throw error(maxWorkers.mark, maxWorkers.path, "must be at least min_workers (\(minWorkers.value)\(minWorkers.originNote)), found \(maxWorkers.value)")
        }
        let launcher = resolve(\.launcher, WorkerLauncher.process.rawValue, "launcher").value
        return PoolDefinition(
            name: entry.value.name.value,
            role: entry.value.role.value,
            maxAgentsPerProcess: resolve(\.maxAgentsPerProcess, 10, "max_agents_per_process").value,
            heartbeatInterval: .seconds(heartbeat.value),
            staleAfter: .seconds(stale.value),
            minWorkers: minWorkers.value,
            maxWorkers: maxWorkers.value,
            idleTimeout: .seconds(resolve(\.idleTimeout, 600, "idle_timeout").value),
            launcher: WorkerLauncher(rawValue: launcher) ?? .process,  // checked in checkEachValue
            workerPath: own.workerPath?.value ?? defaults.workerPath?.value,
            workerArguments: own.workerArguments?.value ?? defaults.workerArguments?.value ?? [],
            // A runtime is taken whole, never merged key by key with the defaults' one.
            runtime: try runtime(of: own.runtime ?? defaults.runtime),
            tasks: TaskSettings(
                taskTimeout: .seconds(resolve(\.taskTimeout, 300, "task_timeout").value),
                maxAttempts: resolve(\.maxAttempts, 3, "max_attempts").value,
                maxQueuedTasks: resolve(\.maxQueuedTasks, 100, "max_queued_tasks").value,
                taskConcurrency: resolve(\.taskConcurrency, 1, "task_concurrency").value,
                taskRetention: .seconds(resolve(\.taskRetention, 604_800, "task_retention").value)))
    }

    /// The rules that concern one value at a time, for `defaults:` and for each pool.
    private func checkEachValue(of settings: PoolSettingsDocument) throws(ConfigurationError) {
        try checkRange(settings.maxAgentsPerProcess, 1...Self.maximumAgentsPerProcess)
        try checkSeconds(settings.heartbeatInterval, allowZero: false)
        try checkSeconds(settings.staleAfter, allowZero: false)
        try checkRange(settings.minWorkers, 0...Int.max)
        try checkRange(settings.maxWorkers, 1...Int.max)
        try checkSeconds(settings.idleTimeout, allowZero: true)
        if let launcher = settings.launcher, WorkerLauncher(rawValue: launcher.value) == nil {
            let known = WorkerLauncher.allCases.map(\.rawValue).joined(separator: " or ")
            throw error(launcher, "unknown launcher \"\(launcher.value)\" (expected \(known))")
        }
        if let path = settings.workerPath, path.value.allSatisfy(\.isWhitespace) {
            throw error(path, "must not be empty (leave the key out to let the manager decide)")
        }
        try checkSeconds(settings.taskTimeout, allowZero: false)
        try checkRange(settings.maxAttempts, 1...Self.maximumCount)
        try checkRange(settings.maxQueuedTasks, 1...Self.maximumCount)
        try checkRange(settings.taskConcurrency, 1...Self.maximumCount)
        try checkSeconds(settings.taskRetention, allowZero: false)
        if let runtime = settings.runtime {
            _ = try self.runtime(of: runtime)
        }
    }

    func checkRange(_ value: YAMLLocated<Int>?, _ range: ClosedRange<Int>) throws(ConfigurationError) {
        guard let value else { return }
        if value.value < range.lowerBound {
            throw error(value, "must be at least \(range.lowerBound), found \(value.value)")
        }
        if value.value > range.upperBound {
            throw error(value, "must be at most \(range.upperBound), found \(value.value)")
        }
    }

    func checkSeconds(_ value: YAMLLocated<Double>?, allowZero: Bool) throws(ConfigurationError) {
        guard let value else { return }
        let seconds = value.value
        guard seconds.isFinite else { throw error(value, "must be a finite number of seconds, found \(seconds)") }
        if allowZero, seconds < 0 {
            throw error(value, "must be at least 0 seconds, found \(Self.seconds(seconds))")
        }
        if !allowZero, seconds <= 0 {
            throw error(value, "must be greater than 0 seconds, found \(Self.seconds(seconds))")
        }
        if seconds > Self.maximumSeconds {
            throw error(value, "must be at most \(Self.seconds(Self.maximumSeconds)), found \(Self.seconds(seconds))")
        }
    }

    /// Names and roles become parts of Redis keys: `[a-z][a-z0-9_-]{0,62}`.
    private func checkName(_ name: YAMLLocated<String>) throws(ConfigurationError) {
        let text = name.value
        guard !text.isEmpty else { throw error(name, "must not be empty") }
        let valid = text.utf8.count <= 63
            && text.first.map { $0.isASCII && $0.isLowercase } == true
            && text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") }
        guard valid else {
            throw error(name, "must start with a lowercase letter and use only a-z, 0-9, _ and - (at most 63 characters), found \"\(text.prefix(70))\"")
        }
    }

    /// `30 s`, `0.5 s`: whole seconds print without a fraction.
    static func seconds(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return "\(Int64(value)) s" }
        return "\(value) s"
    }

    func error<V>(_ value: YAMLLocated<V>, _ message: String) -> ConfigurationError {
        error(value.mark, value.path, message)
    }

    func error(_ mark: YAMLMark, _ path: String, _ message: String) -> ConfigurationError {
        ConfigurationError(code: .invalidValue, source: fileName, line: mark.line, key: path, message: message)
    }
}
