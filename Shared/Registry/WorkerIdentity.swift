/// What a worker registers about itself.
public struct WorkerIdentity: Sendable, Hashable {
    public var processID: String
    public var pid: Int
    public var host: String
    public var maxAgents: Int

    public init(processID: String, pid: Int, host: String, maxAgents: Int) {
        self.processID = processID
        self.pid = pid
        self.host = host
        self.maxAgents = maxAgents
    }
}
