import AgentRuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import EventLoopExecution
import Logging
import Metrics
import PoolCore
import PoolProtocol
import Registry
import TaskStore

/// How a lane ends: at once, or draining its attempts first and handing the rest back.
extension AgentTaskLane {
    // MARK: Ending the lane

    func finish(_ how: TaskLaneStop, events: inout AsyncStream<TaskLaneEvent>.Iterator) async {
        switch how {
        case .terminate, .abandon:
            await runtime.stop()
        case .handOver(let grace):
            await drain(grace: grace, events: &events)
            await runtime.stop()
        }
        intake.finish()
    }

    /// Lets attempts in flight finish for up to `grace`, then hands back the rest.
    func drain(grace: Duration, events iterator: inout AsyncStream<TaskLaneEvent>.Iterator) async {
        let end = ContinuousClock.now + grace
        let timer = Task { [intake] in
            try? await Task.sleep(until: end, clock: .eventLoop)
            intake.yield(.wake)
        }
        defer { timer.cancel() }
        runtimeReady = false  // nothing new starts
        while attempts.values.contains(where: { !$0.settled }), ContinuousClock.now < end, let event = await iterator.next(isolation: self) {
            switch event {
            case .runtime, .timedOut, .cancel: _ = await handle(event)
            default: break
            }
        }
        for (taskID, attempt) in attempts where !attempt.settled {
            attempt.deadline.cancel()
            do {
                if try await store.handBack(taskID: taskID, attempt: attempt.attempt, processID: processID),
                   let record = try await store.fetch(taskID: taskID)
                {
                    await announce(record)
                }
            } catch {
                logger.warning("Could not hand a task back; the agent's next host settles it", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
            }
        }
        attempts.removeAll()
        if !entries.isEmpty { logger.info("Handed the agent's tasks back", metadata: ["entries": "\(entries.count)"]) }
    }
}
