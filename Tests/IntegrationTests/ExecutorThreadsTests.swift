import Foundation
import Testing
import TestSupport

/// Swift concurrency's jobs and timers run on the event loops (`EventLoopGlobalExecutor`,
/// `EventLoopClock`): a worker that hosted agents and ran their tasks has no thread of
/// Dispatch's global pool, only its main thread, its event loops, the PostgreSQL poller and
/// Dispatch's serial threads (its manager, for signal sources, and the main queue's).
@Suite(.serialized) struct ExecutorThreadsTests {
    @Test(.timeLimit(.minutes(3)))
    func aBusyWorkerRunsOnItsEventLoopsOnly() async throws {
        try await TestStack.with(
            name: "threads", poolYAML: "  - name: {pool}\n    role: developer\n    runtime: {kind: builtin, name: sleep}\n"
        ) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            var agents: [String] = []
            for _ in 0..<3 { agents.append(try await stack.spawnAgent()) }
            for agent in agents {
                for _ in 0..<3 {
                    let reply = try await stack.submitTask(agent: agent, body: #"{"input":{"seconds":0.05}}"#, wait: 10)
                    #expect(reply.status == 200, "\(reply.text)")
                }
            }
            let pid = try #require(try await stack.workerPIDs(stack.pools[0]).values.first)
            let names = try Self.threadNames(pid)
            print("worker threads after 3 agents and 9 tasks: \(names.count): \(names.joined(separator: ", "))")
            let unexpected = names.filter {
                !($0 == "worker" || $0.hasPrefix("NIO-SGLTN-") || $0 == "postgres-poller" || $0.hasSuffix("-qos.overcommit"))
            }
            #expect(unexpected.isEmpty, "threads of Dispatch's global pool or unknown: \(unexpected)")
        }
    }

    /// The names (`comm`) of a process's threads.
    static func threadNames(_ pid: Int32) throws -> [String] {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        return try tasks.map {
            try String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }.sorted()
    }
}
