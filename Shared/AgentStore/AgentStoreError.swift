/// A row the store cannot make sense of (written by a newer version, or by hand).
public struct AgentStoreError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
