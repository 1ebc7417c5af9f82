#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A reason a service cannot start, written as one line for the operator.
public struct StartupFailure: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// Prints `program: <error>` on stderr, without a stack trace, and exits with status 1.
    /// Every executable funnels start-up errors (bad pool.yaml, bad setting) through here.
    public static func exit(program: String, error: any Error) -> Never {
        let line = "\(program): \(String(describing: error))\n"
        StandardError.write(line.utf8)
        Glibc.exit(1)
    }
}
