/// A position in a YAML text, as people count it: the first line and column are 1.
public struct YAMLMark: Sendable, Hashable, CustomStringConvertible {
    /// The line, starting at 1.
    public let line: Int
    /// The column, starting at 1.
    public let column: Int

    /// Creates a mark from 1-based line and column numbers.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// `line:column`, the way compilers and editors print positions.
    public var description: String { "\(line):\(column)" }
}
