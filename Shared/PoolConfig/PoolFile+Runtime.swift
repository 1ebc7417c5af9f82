#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import YAML

/// The checks of `runtime:` (contract section 5): one kind, the keys that kind takes, and
/// their values. Relative program paths and working directories are made absolute here,
/// against the pool file's folder, so the worker does not depend on its own directory.
extension PoolFileValidator {
    func runtime(of located: YAMLLocated<RuntimeDocument>?) throws(ConfigurationError) -> RuntimeDefinition {
        guard let located else { return .standard }
        let document = located.value
        switch document.kind.value {
        case "builtin":
            guard let name = document.name else {
                throw error(located, "a builtin runtime needs a name (\(Self.builtinNames))")
            }
            guard let builtin = BuiltinRuntime(rawValue: name.value) else {
                throw error(name, "unknown builtin runtime \"\(name.value.prefix(70))\" (expected \(Self.builtinNames))")
            }
            return .builtin(builtin)
        case "exec":
            return .exec(try exec(document, at: located))
        case "http":
            guard let url = document.url else {
                throw error(located, "an http runtime needs a url (http://host:port/path)")
            }
            if let problem = HTTPEndpoint.problem(with: url.value) {
                throw error(url, problem)
            }
            return .http(HTTPRuntime(url: url.value))
        default:
            throw error(document.kind, "unknown runtime kind \"\(document.kind.value.prefix(70))\" (expected \(RuntimeDocument.kinds.joined(separator: ", ")))")
        }
    }

    private static var builtinNames: String {
        BuiltinRuntime.allCases.map(\.rawValue).joined(separator: ", ")
    }

    private func exec(_ document: RuntimeDocument, at located: YAMLLocated<RuntimeDocument>) throws(ConfigurationError) -> ExecRuntime {
        guard let command = document.command else {
            throw error(located, "an exec runtime needs a command, e.g. [\"python3\", \"agent.py\"]")
        }
        guard let program = command.value.first else {
            throw error(command, "must name a program (a list of at least one string)")
        }
        for argument in command.value where argument.value.utf8.contains(0) {
            throw error(argument, "must not contain a NUL character")
        }
        if program.value.allSatisfy(\.isWhitespace) {
            throw error(program, "must name a program, found an empty string")
        }
        let folder = Self.absolute(Self.folder(of: fileName), from: Self.currentDirectory())
        var workingDirectory = folder
        if let dir = document.workingDir {
            if dir.value.allSatisfy(\.isWhitespace) || dir.value.utf8.contains(0) {
                throw error(dir, "must be a directory path (leave the key out to use the pool file's folder)")
            }
            workingDirectory = Self.absolute(dir.value, from: folder)
        }
        var arguments = command.value.map(\.value)
        // `agents/developer.py` is a path, `python3` a name looked up on PATH.
        if program.value.contains("/") {
            arguments[0] = Self.absolute(program.value, from: workingDirectory)
        }
        var environment: [String: String] = [:]
        for (name, value) in document.env?.value ?? [:] {
            try checkVariableName(name, at: value, field: "env")
            if value.value.utf8.contains(0) {
                throw error(value, "must not contain a NUL character")
            }
            environment[name] = value.value
        }
        var names: [String] = []
        for name in document.envFrom?.value ?? [] {
            try checkVariableName(name.value, at: name, field: "env_from")
            if environment[name.value] != nil {
                throw error(name, "\(name.value) is also set in env; name it in one of the two")
            }
            if !names.contains(name.value) { names.append(name.value) }
        }
        try checkSeconds(document.startTimeout, allowZero: false)
        return ExecRuntime(
            command: arguments, workingDirectory: workingDirectory, environment: environment,
            environmentFrom: names, startTimeout: .seconds(document.startTimeout?.value ?? 10))
    }

    private func checkVariableName<V>(_ name: String, at value: YAMLLocated<V>, field: String) throws(ConfigurationError) {
        let valid = !name.isEmpty && name.first.map { !$0.isNumber } == true
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        guard valid else {
            throw error(value, "\"\(name.prefix(70))\" is not an environment variable name (letters, digits and _, not starting with a digit)")
        }
        if ReservedEnvironment.contains(name) {
            throw error(value, "\(name) is one of AgentPool's own settings and is never given to agents (\(field) may not name REDIS_*, POSTGRES_*, PG*, DB_*, GATEWAY_*, API_KEYS and the other service settings)")
        }
    }

    /// The folder part of a path: `pool.yaml` → `.`, `/etc/agentpool/pool.yaml` → `/etc/agentpool`.
    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = String(path[..<slash])
        return folder.isEmpty ? "/" : folder
    }

    /// `path` made absolute against `base`, with `.` and `..` parts folded away.
    static func absolute(_ path: String, from base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        var parts: [Substring] = []
        for part in joined.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}

extension PoolFileValidator {
    /// The directory relative pool file names are read from.
    static func currentDirectory() -> String {
        FileManager.default.currentDirectoryPath
    }
}
