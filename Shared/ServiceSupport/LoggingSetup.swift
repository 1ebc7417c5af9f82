import Logging
import PoolConfig

/// Installs the process-wide log handler once, at start, from `LOG_LEVEL`.
public enum LoggingSetup {
    /// Logs go to stderr, one line each, with metadata such as `pool`, `process_id`,
    /// `agent_id` appended.
    public static func bootstrap(settings: Settings) {
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
