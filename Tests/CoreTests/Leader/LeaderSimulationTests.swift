#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolCore
import Testing

/// The leader machine against a model world with faults, over thousands of seeded schedules
/// (see `LeaderSimulation`). A failing seed is printed with its step log; replay one with
/// `SIM_SEED=<seed> swift test --filter LeaderSimulationTests`. `SIM_SCHEDULES` sets how
/// many schedules run (10,000 by default).
@Suite struct LeaderSimulationTests {
    @Test func everyPromiseIsKeptUnderFaults() async {
        let environment = ProcessInfo.processInfo.environment
        if let replay = environment["SIM_SEED"].flatMap(UInt64.init) {
            let outcome = LeaderSimulation.run(seed: replay, keepLog: true)
            print(outcome.log.joined(separator: "\n"))
            #expect(outcome.violations.isEmpty, "seed \(replay): \(outcome.violations)")
            return
        }
        let schedules = environment["SIM_SCHEDULES"].flatMap(Int.init) ?? 10_000
        let started = ContinuousClock.now
        let lanes = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let outcomes = await withTaskGroup(of: [LeaderSimulation.Outcome].self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    stride(from: lane, to: schedules, by: lanes).map { LeaderSimulation.run(seed: UInt64($0)) }
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        let elapsed = ContinuousClock.now - started
        let steps = outcomes.reduce(0) { $0 + $1.steps }
        let slowest = outcomes.compactMap(\.convergedAfter).max() ?? .zero
        print("Leader simulation: \(outcomes.count) schedules, \(steps) steps in \(elapsed); slowest convergence after \(slowest) of calm (bound \(LeaderSimulation.calmTime))")
        let failed = outcomes.filter { !$0.violations.isEmpty }.sorted { $0.seed < $1.seed }
        #expect(outcomes.count == schedules)
        #expect(failed.isEmpty, "\(failed.count) schedules failed; first seeds: \(failed.prefix(10).map(\.seed))")
        if let first = failed.first {
            let replay = LeaderSimulation.run(seed: first.seed, keepLog: true)
            print("Seed \(first.seed) failed: \(replay.violations.first ?? "")\n" + replay.log.suffix(120).joined(separator: "\n"))
        }
    }
}
