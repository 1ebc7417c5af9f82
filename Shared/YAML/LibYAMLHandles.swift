import CYAML

/// Owns libyaml's parser, the copy of the input it reads, and up to two loaded documents.
///
/// libyaml keeps a pointer to the input and allocates inside the parser and each document;
/// tying all of it to one object means `deinit` frees everything on every path out of a
/// parse, including thrown errors.
final class LibYAMLHandles {
    let parser: UnsafeMutablePointer<yaml_parser_t>
    /// The document the caller asked for.
    let document: UnsafeMutablePointer<yaml_document_t>
    /// A second document, loaded only to prove that there is none.
    let extraDocument: UnsafeMutablePointer<yaml_document_t>
    /// libyaml reads this buffer during `yaml_parser_load` without copying it.
    private let input: UnsafeMutableBufferPointer<UInt8>
    private let parserReady: Bool
    private var documentLoaded = false
    private var extraDocumentLoaded = false

    init(text: String) {
        parser = .allocate(capacity: 1)
        document = .allocate(capacity: 1)
        extraDocument = .allocate(capacity: 1)
        let bytes = Array(text.utf8)
        input = .allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        parserReady = yaml_parser_initialize(parser) == 1
        if parserReady {
            yaml_parser_set_input_string(parser, UnsafePointer(input.baseAddress!), bytes.count)
        }
    }

    deinit {
        if extraDocumentLoaded { yaml_document_delete(extraDocument) }
        if documentLoaded { yaml_document_delete(document) }
        if parserReady { yaml_parser_delete(parser) }
        extraDocument.deallocate()
        document.deallocate()
        parser.deallocate()
        input.deallocate()
    }

    /// Loads the first document; false when the parser could not start or libyaml failed
    /// (the parser then holds the problem).
    func loadDocument() -> Bool {
        guard parserReady else { return false }
        // On failure libyaml frees what it had built of the document itself.
        documentLoaded = yaml_parser_load(parser, document) == 1
        return documentLoaded
    }

    /// Loads what follows the first document; false when libyaml failed.
    func loadExtraDocument() -> Bool {
        extraDocumentLoaded = yaml_parser_load(parser, extraDocument) == 1
        return extraDocumentLoaded
    }

    /// The input's bytes, for turning a byte offset into a line and column.
    var inputBytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(input) }
}
