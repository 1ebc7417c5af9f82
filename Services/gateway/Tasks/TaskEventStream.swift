import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PoolProtocol
import ServiceLifecycle
import TaskStore

/// `GET /api/v1/tasks/{task_id}/events`: the task's retained events after `Last-Event-ID` as
/// server-sent events, then the new ones as they are recorded, until the final one.
///
/// Each event is `id: N`, `event: <kind>`, `data: <one-line JSON object>` and a blank line.
/// New events are read when a `task_updated` wake-up arrives and at least every poll
/// interval (a lost wake-up costs that much); a comment line (`: keep-alive`) goes out
/// whenever the stream was silent for the keep-alive interval, so that proxies and clients
/// keep the connection. The stream ends after the final event, when the task is gone
/// (retention), when the client leaves (a write fails) and when the gateway shuts down (the
/// client resumes elsewhere with `Last-Event-ID`).
struct TaskEventStream: Sendable {
    let service: TaskService

    /// Events read per statement while catching up.
    static let pageSize = 1000

    /// The response: 404 (JSON) for an unknown task; else the stream. The first read is
    /// bounded like every answer; the stream then stays open until the task ends.
    func response(taskID: String, after lastEventID: Int) async throws -> Response {
        let limit = service.answerLimit(waiting: nil)
        let store = service.store
        let first = try await AnswerDeadline.run(within: limit, timeout: { TaskErrors.dependencyTimeout(limit) }) {
            guard let task = try await store.fetch(taskID: taskID) else { throw TaskErrors.taskNotFound(taskID) }
            return task
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        // nginx (and proxies that honour it) must pass each event on at once.
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            await follow(first, after: lastEventID, writer: &writer)
            try? await writer.finish(nil)
        })
    }

    /// Writes events until the stream ends; never throws (the head is sent already).
    private func follow(_ task: TaskRecord, after lastEventID: Int, writer: inout any ResponseBodyWriter) async {
        let watcher = service.watcher
        let settings = service.settings
        let taskID = task.taskID
        await watcher.watching(taskID) {
            var last = lastEventID
            var known = task
            var lastWrite = ContinuousClock.now
            // Tell clients to come back quickly after a dropped connection (and send the head now).
            guard await write("retry: 1000\n\n", to: &writer) else { return }
            while true {
                // Catch up with what the store holds after `last`.
                if known.lastEventID > last {
                    guard let events = await events(taskID, after: last) else { return }
                    if !events.isEmpty {
                        guard await write(Self.encode(events), to: &writer) else { return }
                        lastWrite = .now
                        last = events.last?.id ?? last
                        if events.contains(where: \.kind.isFinal) { return }
                    }
                }
                if known.status.isFinal, known.lastEventID <= last { return }
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                let keepAliveDue = lastWrite + settings.keepAliveInterval
                let wakeup = await watcher.nextWakeup(taskID, within: min(settings.pollInterval, keepAliveDue - .now))
                if ContinuousClock.now >= keepAliveDue {
                    guard await write(": keep-alive\n\n", to: &writer) else { return }
                    lastWrite = .now
                }
                if let wakeup, wakeup.eventID > last {
                    // The wake-up names the new event: read it without reading the task first.
                    known.lastEventID = max(known.lastEventID, wakeup.eventID)
                    continue
                }
                do {
                    guard let fresh = try await service.store.fetch(taskID: taskID) else { return }
                    known = fresh
                } catch {
                    // The database may come back: keep the stream (and its keep-alives) going.
                    service.logger.debug("Event stream cannot read its task", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
                }
            }
        }
    }

    /// The events after `after`, all pages; nil when the store cannot be read (the stream
    /// ends; the client resumes with `Last-Event-ID`).
    private func events(_ taskID: String, after: Int) async -> [TaskEventRecord]? {
        var all: [TaskEventRecord] = []
        var cursor = after
        do {
            while true {
                let page = try await service.store.events(taskID: taskID, after: cursor, limit: Self.pageSize)
                all += page
                guard page.count >= Self.pageSize, let last = page.last else { return all }
                cursor = last.id
            }
        } catch {
            service.logger.warning("Event stream cannot read events", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
            return all.isEmpty ? nil : all
        }
    }

    /// Whether the write went out (false: the client is gone).
    private func write(_ text: String, to writer: inout any ResponseBodyWriter) async -> Bool {
        do {
            try await writer.write(ByteBuffer(string: text))
            return true
        } catch {
            return false
        }
    }

    /// Events in the `text/event-stream` format.
    static func encode(_ events: [TaskEventRecord]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for event in events {
            // JSON escapes line breaks inside strings, so the data is one line.
            let data = (try? encoder.encode(event.data)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            text += "id: \(event.id)\nevent: \(event.kind.rawValue)\ndata: \(data)\n\n"
        }
        return text
    }
}
