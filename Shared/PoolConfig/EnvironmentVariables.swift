/// The merged variables from the environment and `.env`, each remembering where it was
/// set, with typed readers whose errors name the variable and its source.
///
/// An empty (or all-blank) value counts as unset, because compose files and `.env`
/// templates write `VAR=` to mean "not configured".
struct EnvironmentVariables {
    struct Variable {
        var value: String
        /// `environment`, or the `.env` file's path.
        var source: String
        var line: Int?
    }

    private var variables: [String: Variable] = [:]

    mutating func set(_ name: String, _ value: String, source: String, line: Int?) {
        variables[name] = Variable(value: value, source: source, line: line)
    }

    /// The variable, when set to something other than blanks.
    func variable(_ name: String) -> Variable? {
        guard let variable = variables[name], !variable.value.allSatisfy(\.isWhitespace) else { return nil }
        return variable
    }

    /// A plain value, trimmed.
    func string(_ name: String) -> String? {
        variable(name).map { Self.trimmed($0.value) }
    }

    /// A secret, exactly as given (spaces may be part of a password).
    func secret(_ name: String) -> String? {
        variable(name)?.value
    }

    func port(_ name: String) throws(ConfigurationError) -> Int? {
        try integer(name, in: 1...65_535, expected: "a port number (1-65535)")
    }

    func integer(_ name: String, in range: ClosedRange<Int>, expected: String) throws(ConfigurationError) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw error(name, "expected \(expected), found \(Self.quoted(text))")
        }
        return value
    }

    /// A number of seconds greater than 0 (fractional allowed) as a `Duration`.
    func seconds(_ name: String) throws(ConfigurationError) -> Duration? {
        guard let text = string(name) else { return nil }
        let allowed = Set("0123456789.eE+-")
        guard text.allSatisfy({ allowed.contains($0) }), let value = Double(text),
              value > 0, value <= PoolFileValidator.maximumSeconds
        else {
            throw error(name, "expected a number of seconds greater than 0, found \(Self.quoted(text))")
        }
        return .seconds(value)
    }

    /// One of `choices`, compared without case, returned lowercased.
    func choice(_ name: String, among choices: [String]) throws(ConfigurationError) -> String? {
        guard let text = string(name) else { return nil }
        guard choices.contains(text.lowercased()) else {
            throw error(name, "expected one of \(choices.joined(separator: ", ")), found \(Self.quoted(text))")
        }
        return text.lowercased()
    }

    /// An error about `name`, placed where it was set (`environment` or `.env:LINE`).
    func error(_ name: String, _ message: String) -> ConfigurationError {
        let variable = variables[name]
        return ConfigurationError(
            code: .invalidValue, source: variable?.source ?? "environment", line: variable?.line,
            key: name, message: message)
    }

    /// Quotes a non-secret value for a message, cut short so that a pasted blob stays one line.
    static func quoted(_ text: String) -> String {
        let shown = text.count > 40 ? text.prefix(40) + "…" : Substring(text)
        return "\"\(shown)\""
    }

    static func trimmed(_ text: some StringProtocol) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
