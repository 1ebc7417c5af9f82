import Foundation
import PoolProtocol
import Testing

@Suite struct JSONValueTests {
    @Test func metadataRoundTripsWithIntegersKept() throws {
        let text = #"{"a":1,"b":1.5,"c":"x","d":[true,null],"e":{"f":-2}}"#
        let value = try JSONDecoder().decode(JSONObject.self, from: Data(text.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(String(decoding: try encoder.encode(value), as: UTF8.self) == text)
    }

    @Test func identifiersAreCanonicalLowercase() {
        let id = Identifier.make()
        #expect(id == id.lowercased())
        #expect(Identifier.canonical(id.uppercased()) == id)
        #expect(Identifier.canonical("nope") == nil)
        #expect(Identifier.canonical("\(id) ") == nil)
    }

    @Test func poolNamesFollowTheContract() {
        #expect(PoolName.isValid("developer_pool"))
        #expect(PoolName.isValid("a"))
        #expect(!PoolName.isValid("Developer"))
        #expect(!PoolName.isValid("1pool"))
        #expect(!PoolName.isValid("pool:x"))
        #expect(!PoolName.isValid(String(repeating: "a", count: 64)))
    }
}
