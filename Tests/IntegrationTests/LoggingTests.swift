import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// `LOG_FORMAT=json`: every line a service writes is one JSON object with the ids an operator
/// filters by.
@Suite(.serialized) struct LoggingTests {
    @Test(.timeLimit(.minutes(2)))
    func jsonLogsAreOneObjectPerLineWithIds() async throws {
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 0\n    launcher: external\n"
        try await TestStack.with(name: "jsonlogs", poolYAML: yaml) { stack in
            let processID = Identifier.make()
            let worker = try stack.startWorker(label: "json", processID: processID, environment: ["LOG_FORMAT": "json"])
            try await Poll.until("the worker to register") {
                try await stack.redis.send("EXISTS", RedisKeys.process(processID)).int == 1
            }
            #expect(await worker.stop() == 0)
            let lines = worker.log.split(separator: "\n")
            #expect(lines.count >= 3)
            for line in lines {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], "not JSON: \(line)")
                #expect(object["level"] != nil && object["message"] != nil && object["ts"] != nil)
                #expect(object["process_id"] == processID)
                #expect(object["pool"] == stack.pools[0])
            }
        }
    }
}
