import Synchronization

/// Whether this gateway has applied (or found applied) every migration: until then the API's
/// tables may be missing, so the gateway is not ready (`/readyz` answers 503).
final class SchemaStatus: Sendable {
    private let migrated = Atomic(false)

    func markMigrated() {
        migrated.store(true, ordering: .releasing)
    }

    var isMigrated: Bool {
        migrated.load(ordering: .acquiring)
    }
}
