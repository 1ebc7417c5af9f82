import Foundation

/// Whether a process still runs. `kill(pid, 0)` alone is not enough: a worker whose parent
/// (a killed manager) is gone is reparented, and where nothing reaps it, it lingers as a
/// zombie that `kill` still finds.
enum ProcessState {
    static func isRunning(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }
}
