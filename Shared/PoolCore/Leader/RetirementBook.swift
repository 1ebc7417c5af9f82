/// Idle workers on their way out: since when each ready worker has been empty, which ones a
/// `beginRetirement` is in flight for, and which are draining and get `retire_worker`.
struct RetirementBook: Sendable, Hashable {
    var emptySince: [String: ContinuousClock.Instant] = [:]
    var beginning: Set<String> = []
    var retiring: Set<String> = []

    mutating func forget(_ processID: String) {
        emptySince.removeValue(forKey: processID)
        beginning.remove(processID)
        retiring.remove(processID)
    }

    /// Forgets every worker not in `known` (it left or was declared dead).
    mutating func keep(only known: Set<String>) {
        emptySince = emptySince.filter { known.contains($0.key) }
        beginning.formIntersection(known)
        retiring.formIntersection(known)
    }
}
