#if canImport(FoundationEssentials)
import FoundationEssentials
#else
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#endif

/// Reading configuration files as text, with errors that name the path.
enum ConfigurationFile {
    /// The file's text; nil when it does not exist (for files that are optional).
    static func readTextIfPresent(atPath path: String) throws(ConfigurationError) -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try readText(atPath: path)
    }

    static func readText(atPath path: String) throws(ConfigurationError) -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError(code: .unreadableFile, source: path, key: "", message: "file not found")
        }
        // nil for a directory as for a file without read permission.
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(
                code: .unreadableFile, source: path, key: "", message: "cannot read the file (is it a readable regular file?)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ConfigurationError(code: .unreadableFile, source: path, key: "", message: "not UTF-8 text")
        }
        return text
    }
}
