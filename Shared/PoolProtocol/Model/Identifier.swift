#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Agent and worker ids are UUIDs written in lowercase everywhere (Redis keys, JSON, SQL),
/// because Foundation's `uuidString` is uppercase while PostgreSQL prints lowercase, and a
/// key spelled two ways is two keys.
public enum Identifier {
    /// A new random id in canonical form.
    public static func make() -> String { UUID().uuidString.lowercased() }

    /// The canonical form of `text` if it is a UUID, else nil. Use it on every id that
    /// arrives from outside (paths, messages, command-line options).
    public static func canonical(_ text: String) -> String? {
        guard text.utf8.count == 36, let uuid = UUID(uuidString: text) else { return nil }
        return uuid.uuidString.lowercased()
    }
}
