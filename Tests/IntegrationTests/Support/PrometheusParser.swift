import Foundation

/// Parses Prometheus text with the reference parser, the `prometheus_client` package from
/// PyPI (the test command installs it), so that the services' `/metrics` are checked against
/// what Prometheus tooling accepts, not only against our own reading of the format.
enum PrometheusParser {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private static let script = """
        import sys
        from prometheus_client.parser import text_string_to_metric_families
        for family in text_string_to_metric_families(sys.stdin.read()):
            print(family.name, family.type, len(family.samples))
        """

    /// The metric families in `text` (names as the parser reports them, e.g. without a
    /// counter's `_total`), or a failure with the parser's complaint.
    static func families(in text: String) throws -> [String: (type: String, samples: Int)] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        let complaint = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "prometheus_client rejected the text: \(String(decoding: complaint.suffix(600), as: UTF8.self))")
        }
        var families: [String: (type: String, samples: Int)] = [:]
        for line in String(decoding: printed, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let samples = Int(fields[2]) else { continue }
            families[String(fields[0])] = (String(fields[1]), samples)
        }
        return families
    }
}
