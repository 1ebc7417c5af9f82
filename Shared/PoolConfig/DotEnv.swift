/// Reads `.env` files: `KEY=VALUE` lines, as the seed and docker compose write them.
///
/// - Blank lines and lines starting with `#` are skipped; `export KEY=VALUE` is accepted.
/// - Unquoted values end at ` #` (an inline comment) and are trimmed, so the seed's
///   `REDIS_PASSWORD=  # Leave empty if no password` means an empty value.
/// - `'single quoted'` values are taken literally; `"double quoted"` ones understand
///   `\n`, `\t`, `\r`, `\"`, `\\` and `\$`. A quoted value ends on its own line.
/// - No `${VAR}` expansion. A later line for the same key wins.
///
/// Errors name the file and line, never the line's text (it may hold a secret).
public enum DotEnv {
    /// One `KEY=VALUE` line.
    struct Entry: Equatable {
        var key: String
        var value: String
        var line: Int
    }

    /// The variables a `.env` text defines.
    ///
    /// - Parameter fileName: how errors name the text, e.g. `.env`.
    public static func parse(_ text: String, fileName: String) throws(ConfigurationError) -> [String: String] {
        var variables: [String: String] = [:]
        for entry in try entries(text, fileName: fileName) {
            variables[entry.key] = entry.value
        }
        return variables
    }

    /// The `KEY=VALUE` lines in file order, with their line numbers.
    static func entries(_ text: String, fileName: String) throws(ConfigurationError) -> [Entry] {
        var entries: [Entry] = []
        for (offset, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let lineNumber = offset + 1
            func fail(_ key: String, _ message: String) -> ConfigurationError {
                ConfigurationError(code: .invalidSyntax, source: fileName, line: lineNumber, key: key, message: message)
            }
            var line = rawLine.drop { $0 == " " || $0 == "\t" || $0 == "\u{FEFF}" }
            if line.last == "\r" { line = line.dropLast() }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) || line.first == "#" { continue }
            if line.hasPrefix("export ") || line.hasPrefix("export\t") {
                line = line.dropFirst("export".count).drop { $0 == " " || $0 == "\t" }
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw fail("", "expected KEY=VALUE")
            }
            let key = String(line[..<equals].reversed().drop { $0 == " " || $0 == "\t" }.reversed())
            guard isVariableName(key) else {
                throw fail("", "expected KEY=VALUE with a name made of letters, digits and _")
            }
            let rest = line[line.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
            let value: String
            do {
                value = try parseValue(rest)
            } catch let problem {
                throw fail(key, problem.message)
            }
            entries.append(Entry(key: key, value: value, line: lineNumber))
        }
        return entries
    }

    private struct ValueProblem: Error {
        var message: String
    }

    private static func parseValue(_ text: Substring) throws(ValueProblem) -> String {
        guard let quote = text.first, quote == "'" || quote == "\"" else {
            // Unquoted: an inline comment starts at a # that follows whitespace (or starts the value).
            var value = ""
            var previous: Character = " "
            for character in text {
                if character == "#", previous == " " || previous == "\t" { break }
                value.append(character)
                previous = character
            }
            return String(value.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
        }
        var value = ""
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            if character == quote {
                let after = text[text.index(after: index)...].drop { $0 == " " || $0 == "\t" }
                guard after.isEmpty || after.first == "#" else {
                    throw ValueProblem(message: "unexpected text after the closing quote")
                }
                return value
            }
            if quote == "\"", character == "\\", text.index(after: index) < text.endIndex {
                index = text.index(after: index)
                switch text[index] {
                case "n": value.append("\n")
                case "t": value.append("\t")
                case "r": value.append("\r")
                case "\"", "\\", "$": value.append(text[index])
                default: value.append("\\"); value.append(text[index])
                }
            } else {
                value.append(character)
            }
            index = text.index(after: index)
        }
        throw ValueProblem(message: "the quoted value has no closing \(quote) on this line")
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`, the names a shell can export.
    private static func isVariableName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_" else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}
