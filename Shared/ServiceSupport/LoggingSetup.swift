import Logging
import PoolConfig

/// Installs the process-wide log handler once, at start, from `LOG_LEVEL`.
public enum LoggingSetup {
    /// Logs go to stderr, one line each, with metadata such as `pool`, `process_id`,
    /// `agent_id`: as text, or as one JSON object per line with `LOG_FORMAT=json`.
    public static func bootstrap(settings: Settings) {
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        let json = settings.logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
