/// A test could not set up what it needs (a server, a port, a file), or waited in vain: the
/// message says what; thrown, it fails the test with that message.
public struct SetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
