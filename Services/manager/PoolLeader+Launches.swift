import CoreMetrics
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

extension PoolLeader {
    /// Acts on what happened to a worker this manager launched: a registered worker whose
    /// process ended is healed at once (its agents placed again) instead of after
    /// `stale_after`; a launch that failed lets the waiting agents fail fast.
    func handle(_ event: ChildWorkerLauncher.Event) async {
        guard !isDeposed else { return }
        switch event {
        case .exited(let processID, _, registered: true):
            await heal(deadWorker: processID)
            await reconcile()
        case .exited(_, _, registered: false), .registrationTimedOut:
            metrics.launchFailures.increment()
            await scaleUp()
        }
    }
}
