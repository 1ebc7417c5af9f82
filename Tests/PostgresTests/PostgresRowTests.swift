@testable import Postgres
import Testing

@Suite("Rows")
struct PostgresRowTests {
    let row = PostgresRow(
        columns: PostgresColumns(names: ["id", "name", "note", "id"]), values: ["7", "ada", nil, "8"])

    @Test("subscript gives raw text, nil for NULL or a missing column")
    func subscripts() {
        #expect(row["id"] == "7")
        #expect(row["name"] == "ada")
        #expect(row["note"] == nil)
        #expect(row["missing"] == nil)
    }

    @Test("decode reads values; the first of duplicate columns wins")
    func decode() throws {
        #expect(try row.decode("id", as: Int.self) == 7)
        #expect(try row.decode("name") == "ada")
        #expect(try row.decodeIfPresent("note", as: String.self) == nil)
    }

    @Test("NULL, missing or malformed columns are .decoding errors naming the column")
    func decodeErrors() {
        let cases: [(column: String, attempt: () throws -> Void)] = [
            ("note", { _ = try row.decode("note", as: String.self) }),
            ("missing", { _ = try row.decode("missing", as: Int.self) }),
            ("missing", { _ = try row.decodeIfPresent("missing", as: Int.self) }),
            ("name", { _ = try row.decode("name", as: Int.self) }),
        ]
        for (column, attempt) in cases {
            #expect {
                try attempt()
            } throws: { error in
                guard let error = error as? PostgresError else { return false }
                return error.code == .decoding && error.message.contains("\"\(column)\"")
            }
        }
    }
}
