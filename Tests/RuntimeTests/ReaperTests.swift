import AgentRuntime
import Foundation
import Logging
import PoolConfig
import PoolProtocol
import Testing

/// The process-wide reaper in the role it has when the worker is PID 1 of a container: it
/// also reaps orphaned grandchildren. A child subreaper adopts orphans the same way, so the
/// test process takes that role for a moment.
@Suite struct ReaperTests {
    @Test func orphanedGrandchildrenAreReapedWhenThisProcessAdoptsThem() async throws {
        try #require(Subreaper.enable(), "cannot become a child subreaper")
        defer { Subreaper.disable() }
        #expect(ChildReaper.shared.adoptsOrphans)
        let folder = try temporaryFolder()
        let script = folder + "/agent.sh"
        let grandchildFile = folder + "/grandchild"
        try """
            sleep 30 &
            echo $! > \(grandchildFile)
            read -r start
            printf '{"type":"ready"}\\n'
            read -r stop
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let runtime = ExecAgentRuntime(
            definition: ExecRuntime(command: ["/bin/sh", script], workingDirectory: folder),
            agent: testAgent, environment: ProcessInfo.processInfo.environment, logger: Logger(label: "reaper-tests"))
        try await runtime.start(state: nil)
        let grandchild = try #require(Int32((try String(contentsOfFile: grandchildFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(processExists(grandchild))
        let orphansBefore = ChildReaper.shared.orphansReaped
        let stopping = ContinuousClock.now
        // The agent ends; its `sleep` is killed with its process group and re-parented here.
        await runtime.stop()
        let gone = await waitUntilGone(grandchild)
        print("reaper: the orphaned grandchild was gone \(seconds(since: stopping)) after stop; state now \(processState(grandchild) ?? "gone")")
        #expect(gone, "grandchild \(grandchild) left in state \(processState(grandchild) ?? "-")")
        #expect(ChildReaper.shared.orphansReaped > orphansBefore)
    }
}
