#if canImport(Glibc)
import Glibc
#endif

/// Keeps glibc's allocator from growing one arena per thread.
///
/// glibc gives threads that contend for the heap arenas of their own, up to 8 per core, and
/// each arena keeps freed memory for itself. The services allocate on many threads (Swift's
/// cooperative pool, SwiftNIO's event loops, the Redis and PostgreSQL thread pools), so
/// without a cap resident memory creeps up by arenas that sit mostly empty. Two arenas are
/// plenty at this allocation rate. An operator's `MALLOC_ARENA_MAX` still wins.
public enum MallocTuning {
    public static func limitArenas(to count: Int32 = 2) {
        #if canImport(Glibc)
        guard getenv("MALLOC_ARENA_MAX") == nil else { return }
        // `mallopt` and `M_ARENA_MAX` (malloc.h) are not in Swift's Glibc module: look the
        // function up instead. The constant is part of glibc's stable ABI.
        let mArenaMax: Int32 = -8
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mArenaMax, count)
        #endif
    }
}
