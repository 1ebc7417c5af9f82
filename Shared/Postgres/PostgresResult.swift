/// What one statement returned.
public struct PostgresResult: Sendable {
    /// The rows, in the order the server sent them; empty for statements without rows.
    public let rows: [PostgresRow]
    /// Rows inserted, updated, deleted, selected, … as the command tag reports; 0 when the tag
    /// carries no count (CREATE TABLE, BEGIN, …).
    public let affectedRows: Int

    init(rows: [PostgresRow], affectedRows: Int) {
        self.rows = rows
        self.affectedRows = affectedRows
    }
}
