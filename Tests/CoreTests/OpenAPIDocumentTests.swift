import Foundation
import OpenAPIDocument
import Testing

@Suite struct OpenAPIDocumentTests {
    @Test func compiledDocumentMatchesDocsOpenAPIJSON() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try String(contentsOf: repository.appendingPathComponent("docs/openapi.json"), encoding: .utf8)
        #expect(
            OpenAPIDocument.json == file.trimmingCharacters(in: .newlines),
            "docs/openapi.json changed: run scripts/generate-openapi")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        #expect(object["openapi"] as? String == "3.0.3")
    }
}
