/// One row of a result, with its values in PostgreSQL's text format.
public struct PostgresRow: Sendable {
    /// Column names to positions, shared by all rows of one result.
    let columns: PostgresColumns
    /// The values by position; nil for SQL NULL.
    let values: [String?]

    /// The raw text of a column; nil for SQL NULL or when there is no such column.
    public subscript(_ column: String) -> String? {
        guard let index = columns.index(of: column) else { return nil }
        return values[index]
    }

    /// Decodes a column that must be present and not NULL.
    ///
    /// A missing column, a NULL or text in the wrong form is a `.decoding` error naming the
    /// column (not its value, which may be data that must stay out of logs).
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self)
        throws(PostgresError) -> T
    {
        guard let value = try decodeIfPresent(column, as: type) else {
            throw PostgresError(
                code: .decoding, message: "Column \"\(column)\" is NULL; expected \(T.self).")
        }
        return value
    }

    /// Decodes a column that may be NULL (giving nil); a missing column is still an error.
    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self)
        throws(PostgresError) -> T?
    {
        guard let index = columns.index(of: column) else {
            throw PostgresError(
                code: .decoding, message: "Column \"\(column)\" is not in the result.")
        }
        guard let text = values[index] else { return nil }
        do {
            return try T(postgresText: text)
        } catch {
            throw PostgresError(
                code: .decoding,
                message: "Column \"\(column)\" could not be read as \(T.self): \(error.message)")
        }
    }
}

/// The column names of one result, looked up by name.
final class PostgresColumns: Sendable {
    /// The names in result order.
    let names: [String]
    private let positions: [String: Int]

    init(names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        // With duplicate names (say two "id" columns from a join) the first one wins.
        for (index, name) in names.enumerated() where positions[name] == nil {
            positions[name] = index
        }
        self.positions = positions
    }

    func index(of name: String) -> Int? { positions[name] }
}
