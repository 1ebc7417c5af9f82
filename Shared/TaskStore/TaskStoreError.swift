/// A task store call that could not be carried out for a reason of its own (not PostgreSQL's).
public struct TaskStoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem this is; an open set, so adding one breaks no caller.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        /// A submission the store refuses before asking PostgreSQL (see `TaskSubmission.problem`).
        public static let invalidSubmission = Code(name: "invalid_submission")
        /// JSON that cannot be encoded (a number JSON has no form for).
        public static let unencodable = Code(name: "unencodable")
        /// A row or an answer the store cannot make sense of (written by a newer version, or by hand).
        public static let unreadable = Code(name: "unreadable")

        public var description: String { name }
    }

    public let code: Code
    /// Names the problem; never holds the task's input or output.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
