import Redis

/// How an entry of an agent's task stream reads (`[id, [field, value, ...]]`, as `XREADGROUP`
/// and `XAUTOCLAIM` answer it): the fields `task_id` and `seq` that `TaskQueue.enqueue` writes.
enum TaskStreamEntry {
    /// The delivery an entry describes, or nil for an entry without them (deleted meanwhile:
    /// `XREADGROUP` reports a pending entry whose content is gone with nil fields).
    static func delivery(from entry: RedisReply, agentID: String) -> TaskDelivery? {
        guard let parts = entry.array, parts.count == 2, let entryID = parts[0].string, let fields = parts[1].array else {
            return nil
        }
        var taskID: String?
        var seq: Int?
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            switch fields[index].string {
            case "task_id": taskID = fields[index + 1].string
            case "seq": seq = fields[index + 1].int
            default: break
            }
        }
        guard let taskID, let seq else { return nil }
        return TaskDelivery(agentID: agentID, entryID: entryID, taskID: taskID, seq: seq)
    }
}
