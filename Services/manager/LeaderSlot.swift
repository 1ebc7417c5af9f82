/// The manager's current leadership of its pool, if any: what the long-lived subscription
/// hands each message to. A standby (no leader) drops the messages: the leader that comes
/// next starts with a reconcile pass, which places from PostgreSQL whatever they asked for.
actor LeaderSlot {
    private(set) var current: PoolLeader?

    func set(_ leader: PoolLeader?) {
        current = leader
    }
}
