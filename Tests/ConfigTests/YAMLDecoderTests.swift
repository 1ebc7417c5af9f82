import Testing
import YAML

/// Decodes `text` as `T`, expecting it to fail, and returns the error.
func yamlError<T: Decodable>(_ type: T.Type, _ text: String, file: String = "test.yaml") -> YAMLError? {
    do {
        _ = try YAMLDecoder().decode(type, from: text, fileName: file)
        return nil
    } catch {
        return error
    }
}

private struct Server: Decodable, Equatable {
    var host: String
    var port: Int
    var ratio: Double
    var enabled: Bool
    var tags: [String]
    var limits: Limits
    var note: String?
    var backup: Limits?

    struct Limits: Decodable, Equatable {
        var soft: Int
        var hard: Int?
    }
}

private struct OnlyCount: Decodable { var count: Int }
private struct OnlyRatio: Decodable { var ratio: Double }
private struct OnlyFlag: Decodable { var flag: Bool }
private struct OnlyName: Decodable { var name: String }
private struct OptionalName: Decodable { var name: String? }
private struct Empty: Decodable {}
private struct Items: Decodable { var items: [Item] }
private struct Item: Decodable { var name: String; var size: Int }
private struct Wait: Decodable { var wait: Duration }
private struct Mode: Decodable {
    enum Kind: String, Decodable { case fast, slow }
    var kind: Kind
}

@Suite struct YAMLDecoderTests {
    @Test func decodesScalarsNestedMappingsSequencesAndOptionals() throws {
        let text = """
            host: example.org
            port: 6379
            ratio: 2          # an integer is a fine Double
            enabled: true
            tags: [a, "b c", 3]
            limits:
              soft: 5
            note:
            """
        let server = try YAMLDecoder().decode(Server.self, from: text, fileName: "s.yaml")
        #expect(server == Server(
            host: "example.org", port: 6379, ratio: 2, enabled: true, tags: ["a", "b c", "3"],
            limits: .init(soft: 5, hard: nil), note: nil, backup: nil))
    }

    @Test func quotedNullIsAString() throws {
        #expect(try YAMLDecoder().decode(OptionalName.self, from: "name: \"null\"", fileName: "t").name == "null")
        #expect(try YAMLDecoder().decode(OptionalName.self, from: "name: ~", fileName: "t").name == nil)
        #expect(try YAMLDecoder().decode(OptionalName.self, from: "name: null", fileName: "t").name == nil)
    }

    @Test func emptyDocumentIsAnEmptyMapping() throws {
        _ = try YAMLDecoder().decode(Empty.self, from: "", fileName: "e.yaml")
        _ = try YAMLDecoder().decode(Empty.self, from: "# only a comment\n", fileName: "e.yaml")
        #expect(try YAMLDecoder().decode(OptionalName.self, from: "", fileName: "e.yaml").name == nil)
        let error = try #require(yamlError(OnlyCount.self, "", file: "e.yaml"))
        #expect(error.description == "e.yaml:1:1: missing required key \"count\"")
    }

    @Test func unknownKeyIsReportedWithItsLine() throws {
        let text = """
            items:
              - name: a
                size: 1
              - name: b
                sise: 2
                size: 3
            """
        let error = try #require(yamlError(Items.self, text, file: "pool.yaml"))
        #expect(error.code == .unknownKey)
        #expect(error.line == 5 && error.column == 5)
        #expect(error.path == "items[1].sise")
        #expect(error.description == #"pool.yaml:5:5: items[1].sise: unknown key, did you mean "size"? (known keys: name, size)"#)
    }

    @Test func unknownKeyAtTheRootAndInEmptyTypes() throws {
        let error = try #require(yamlError(OnlyCount.self, "count: 1\ncuont: 2\n"))
        #expect(error.description.hasPrefix("test.yaml:2:1: cuont: unknown key"))
        let empty = try #require(yamlError(Empty.self, "x: 1"))
        #expect(empty.description == "test.yaml:1:1: x: unknown key (this mapping takes no keys)")
    }

    @Test func firstUnknownKeyInDocumentOrderWins() throws {
        let text = "items:\n  - name: a\n    size: 1\n    zz: 1\nextra: 2\n"
        let error = try #require(yamlError(Items.self, text))
        #expect(error.path == "items[0].zz" && error.line == 4)
    }

    @Test func duplicateKeyIsAnError() throws {
        let error = try #require(yamlError(OnlyCount.self, "count: 1\ncount: 2\n"))
        #expect(error.code == .duplicateKey)
        #expect(error.description == "test.yaml:2:1: count: duplicate key (first given on line 1)")
    }

    @Test func wrongTypeNamesPathAndLine() throws {
        let text = "items:\n  - name: a\n    size: 1\n  - name: b\n    size: abc\n"
        let error = try #require(yamlError(Items.self, text, file: "pool.yaml"))
        #expect(error.code == .typeMismatch)
        #expect(error.description == #"pool.yaml:5:11: items[1].size: expected an integer, found "abc""#)
    }

    @Test func integersRejectFractionsAndWords() throws {
        for bad in ["3.5", "abc", "1e3", "0x10", "", "[1]", "{a: 1}", "99999999999999999999"] {
            let error = try #require(yamlError(OnlyCount.self, "count: \(bad)"), "\(bad)")
            #expect(error.path == "count" && error.line == 1, "\(bad)")
        }
        #expect(try YAMLDecoder().decode(OnlyCount.self, from: "count: -3", fileName: "t").count == -3)
        #expect(try YAMLDecoder().decode(OnlyCount.self, from: "count: +7", fileName: "t").count == 7)
        #expect(try YAMLDecoder().decode(OnlyCount.self, from: "count: \"8\"", fileName: "t").count == 8)
    }

    @Test func doublesAcceptIntegersAndFractions() throws {
        #expect(try YAMLDecoder().decode(OnlyRatio.self, from: "ratio: 3", fileName: "t").ratio == 3)
        #expect(try YAMLDecoder().decode(OnlyRatio.self, from: "ratio: 0.25", fileName: "t").ratio == 0.25)
        #expect(try YAMLDecoder().decode(OnlyRatio.self, from: "ratio: 1e-3", fileName: "t").ratio == 0.001)
        #expect(try YAMLDecoder().decode(OnlyRatio.self, from: "ratio: .inf", fileName: "t").ratio == .infinity)
        for bad in ["abc", "inf", "nan", "1.2.3", "true"] {
            #expect(yamlError(OnlyRatio.self, "ratio: \(bad)")?.message.hasPrefix("expected a number") == true, "\(bad)")
        }
    }

    @Test func boolsAcceptTrueAndFalseOnly() throws {
        #expect(try YAMLDecoder().decode(OnlyFlag.self, from: "flag: true", fileName: "t").flag)
        #expect(try !YAMLDecoder().decode(OnlyFlag.self, from: "flag: False", fileName: "t").flag)
        for bad in ["yes", "1", "on", "maybe"] {
            #expect(yamlError(OnlyFlag.self, "flag: \(bad)")?.message == "expected true or false, found \"\(bad)\"")
        }
    }

    @Test func stringsAcceptScalarsButNotNullOrCollections() throws {
        #expect(try YAMLDecoder().decode(OnlyName.self, from: "name: 42", fileName: "t").name == "42")
        #expect(yamlError(OnlyName.self, "name:")?.message == "expected a string, found nothing (null)")
        #expect(yamlError(OnlyName.self, "name: [a]")?.message == "expected a string, found a sequence")
    }

    @Test func missingKeyNamesTheMappingLine() throws {
        let text = "items:\n  - name: a\n    size: 1\n  - name: b\n"
        let error = try #require(yamlError(Items.self, text))
        #expect(error.code == .missingKey)
        #expect(error.description == #"test.yaml:4:5: items[1]: missing required key "size""#)
    }

    @Test func syntaxErrorNamesFileLineAndProblem() throws {
        let text = "items:\n  - name: a\n    size: [1, 2\n  - name: b\n"
        let error = try #require(yamlError(Items.self, text, file: "broken.yaml"))
        #expect(error.code == .syntax)
        #expect(error.file == "broken.yaml")
        #expect(error.line == 4)
        #expect(error.message.hasPrefix("syntax error: did not find expected ',' or ']'"))
        #expect(error.message.contains("line 3"))

        let tab = try #require(yamlError(OnlyCount.self, "a:\n\tcount: 1\n"))
        #expect(tab.code == .syntax && tab.line == 2)
    }

    @Test func readerErrorsArePlacedByOffset() throws {
        let error = try #require(yamlError(OnlyName.self, "# first\nname: a\u{01}b\n"))
        #expect(error.code == .syntax && error.line == 2 && error.column == 8)
        #expect(error.message.hasPrefix("cannot read the text: control characters are not allowed"))
    }

    @Test func syntaxErrorInASecondDocumentIsReported() throws {
        let error = try #require(yamlError(OnlyCount.self, "count: 1\n---\n[a\n"))
        #expect(error.code == .syntax)
    }

    @Test func errorDescriptionLeavesOutMissingParts() {
        let mark = YAMLMark(line: 3, column: 7)
        #expect(YAMLError(code: .invalidValue, file: "f", mark: nil, path: "", message: "m").description == "f: m")
        #expect(YAMLError(code: .invalidValue, file: "f", mark: nil, path: "a.b", message: "m").description == "f: a.b: m")
        #expect(YAMLError(code: .invalidValue, file: "f", mark: mark, path: "", message: "m").description == "f:3:7: m")
        #expect(YAMLError(code: .invalidValue, file: "f", mark: mark, path: "a[0]", message: "m").description == "f:3:7: a[0]: m")
    }

    @Test func durationIsNotDecodedFromSeconds() throws {
        let error = try #require(yamlError(Wait.self, "wait: 30"))
        #expect(error.path == "wait" && error.line == 1)
    }

    @Test func errorsThrownByTypesThemselvesGetALine() throws {
        let error = try #require(yamlError(Mode.self, "# mode\nkind: medium\n"))
        #expect(error.line == 2 && error.path == "kind")
        #expect(error.message.contains("medium"))
    }

    @Test func aliasesReadAsTheirAnchor() throws {
        let text = "items:\n  - &first {name: a, size: 1}\n  - *first\n"
        let items = try YAMLDecoder().decode(Items.self, from: text, fileName: "t").items
        #expect(items.map(\.name) == ["a", "a"])
    }

    @Test func recursiveAliasesAndMergeKeysAreRejectedClearly() throws {
        let recursive = try #require(yamlError(Items.self, "items: &a [*a]\n"))
        #expect(recursive.code == .unsupported && recursive.message.contains("recursive alias"))
        let merge = try #require(yamlError(OnlyCount.self, "base: &b {count: 1}\n<<: *b\ncount: 2\n"))
        #expect(merge.code == .unknownKey)
        let merged = try #require(yamlError(OnlyCount.self, "count: 2\n<<: {x: 1}\n"))
        #expect(merged.message == "unknown key (YAML merge keys are not supported)")
    }

    @Test func secondDocumentIsRejected() throws {
        let error = try #require(yamlError(OnlyCount.self, "count: 1\n---\ncount: 2\n"))
        #expect(error.code == .unsupported && error.line == 3)
    }

    @Test func locatedValuesCarryMarkAndPath() throws {
        struct Doc: Decodable { var items: [YAMLLocated<Item>]; var n: YAMLLocated<Int> }
        let doc = try YAMLDecoder().decode(Doc.self, from: "n: 4\nitems:\n  - name: a\n    size: 1\n", fileName: "t")
        #expect(doc.n.value == 4 && doc.n.mark == YAMLMark(line: 1, column: 4) && doc.n.path == "n")
        #expect(doc.items[0].mark.line == 3 && doc.items[0].path == "items[0]")
    }

    @Test func parsesNodeTreesDirectly() throws {
        let node = try YAMLNode.parse("a:\n  - 1\n  - ~\n", fileName: "t")
        guard case .sequence(let items, let mark)? = node["a"] else {
            Issue.record("expected a sequence")
            return
        }
        #expect(mark.line == 2 && items.count == 2 && items[1].isNull)
    }
}
