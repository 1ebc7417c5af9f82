import Foundation

/// Linux's child subreaper flag (`prctl(PR_SET_CHILD_SUBREAPER)`): a process that has it
/// adopts its descendants' orphans, like PID 1 does. Swift does not import the variadic
/// `prctl`, so it is called through its address with the integer arguments it takes.
public enum Subreaper {
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private static let PR_SET_CHILD_SUBREAPER: Int32 = 36
    private static let PR_GET_CHILD_SUBREAPER: Int32 = 37

    private static let prctl: Prctl? = {
        guard let symbol = dlsym(nil, "prctl") else { return nil }  // nil is RTLD_DEFAULT on Linux
        return unsafeBitCast(symbol, to: Prctl.self)
    }()

    /// Whether this process adopts orphans of its descendants.
    public static var isEnabled: Bool {
        guard let prctl else { return false }
        var flag: Int32 = 0
        let result = withUnsafeMutablePointer(to: &flag) { pointer in
            prctl(PR_GET_CHILD_SUBREAPER, UInt(bitPattern: Int(bitPattern: pointer)), 0, 0, 0)
        }
        return result == 0 && flag != 0
    }

    /// Makes this process a subreaper (tests, or a worker that runs under a supervisor that
    /// is not a reaping init). Returns whether it worked.
    @discardableResult
    public static func enable() -> Bool { set(true) }

    /// Clears the flag again.
    @discardableResult
    public static func disable() -> Bool { set(false) }

    private static func set(_ enabled: Bool) -> Bool {
        guard let prctl else { return false }
        return prctl(PR_SET_CHILD_SUBREAPER, enabled ? 1 : 0, 0, 0, 0) == 0
    }
}
