import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A task's event stream (server-sent events) through the real gateway: the retained events
/// after `Last-Event-ID`, new ones as they are recorded, keep-alive comments, and the end of
/// the stream after the final event. Workers are frozen, so tasks stay `queued` until the
/// test cancels them.
@Suite(.serialized) struct TaskEventsTests {
    @Test(.timeLimit(.minutes(3)))
    func aFinishedTasksStreamReplaysAfterLastEventIDAndEnds() async throws {
        try await TestStack.with(name: "taskreplay", poolYAML: TaskAPITests.pool, defaults: TestStack.patientDefaults) { stack in
            try await stack.startManager()
            try await stack.startGateway(apiKeys: "events-key")
            let agent = try await stack.spawnAgent()
            try await stack.withFrozenWorkers {
                let task = try await stack.submit(agent: agent, body: #"{"input": "x"}"#).task
                #expect(try await stack.http.send("POST", "/api/v1/tasks/\(task.taskID)/cancel").status == 200)
                let path = "/api/v1/tasks/\(task.taskID)/events"

                let whole = try await stack.http.get(path)
                #expect(whole.status == 200)
                #expect(whole.headers["content-type"]?.hasPrefix("text/event-stream") == true, "\(whole.headers)")
                #expect(whole.headers["cache-control"] == "no-cache")
                #expect(whole.headers["x-accel-buffering"] == "no")
                let events = ServerSentEvents.parse(whole.text)
                print("the stream of a cancelled task: \(events.map { "\($0.id ?? -1):\($0.event ?? "?")" })")
                #expect(events.first?.event == "queued")
                #expect(events.last?.event == "cancelled")
                let ids = events.compactMap(\.id)
                #expect(ids.count == events.count && ids == ids.sorted() && Set(ids).count == ids.count, "ids grow strictly: \(ids)")
                for event in events {
                    #expect(ServerSentEvents.data(event)?["attempt"] as? Int == 0, "data carries attempt: \(event.data)")
                }

                // Resuming after the first event replays the rest only; after the last, nothing.
                let resumed = try await stack.http.send("GET", path, headers: ["Last-Event-ID": String(ids[0])])
                #expect(resumed.status == 200)
                #expect(ServerSentEvents.parse(resumed.text) == Array(events.dropFirst()))
                let caughtUp = try await stack.http.send("GET", path, headers: ["Last-Event-ID": String(ids.last ?? 0)])
                #expect(caughtUp.status == 200)
                #expect(ServerSentEvents.parse(caughtUp.text).isEmpty)

                // The stream ends by itself after the final event (the server closes it).
                let raw = try EventStreamConnection(port: try stack.port, path: path, apiKey: "events-key")
                #expect(await raw.readToEnd(timeout: .seconds(20)), "the stream did not end: \(raw.text.suffix(300))")
                #expect(raw.text.hasPrefix("HTTP/1.1 200"))
                #expect(raw.text.contains("event: cancelled"))
            }
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aLiveStreamKeepsAliveThenDeliversTheFinalEventAndEnds() async throws {
        try await TestStack.with(name: "tasklive", poolYAML: TaskAPITests.pool, defaults: TestStack.patientDefaults) { stack in
            try await stack.startManager()
            let gateway = try await stack.startGateway(with: ["SSE_KEEPALIVE_INTERVAL": "0.5"])
            let agent = try await stack.spawnAgent()
            try await stack.withFrozenWorkers {
                let task = try await stack.submit(agent: agent, body: #"{"input": "live"}"#).task
                let stream = try EventStreamConnection(port: try stack.port, path: "/api/v1/tasks/\(task.taskID)/events", apiKey: nil)
                #expect(await stream.read(until: { $0.contains("event: queued") }, timeout: .seconds(20)), "\(stream.text.suffix(300))")
                let opened = ContinuousClock.now
                #expect(await stream.read(until: { $0.contains(": keep-alive") }, timeout: .seconds(20)), "no keep-alive: \(stream.text.suffix(300))")
                print("a keep-alive comment came \(ContinuousClock.now - opened) after the first event (interval 0.5 s)")
                #expect(!stream.closed)

                let cancelled = ContinuousClock.now
                #expect(try await stack.http.send("POST", "/api/v1/tasks/\(task.taskID)/cancel").status == 200)
                #expect(await stream.read(until: { $0.contains("event: cancelled") }, timeout: .seconds(20)), "\(stream.text.suffix(300))")
                print("the cancelled event arrived \(ContinuousClock.now - cancelled) after the cancel")
                #expect(await stream.readToEnd(timeout: .seconds(20)), "the stream did not end after the final event")
                let events = ServerSentEvents.parse(Self.body(of: stream.text))
                #expect(events.map(\.event) == ["queued", "cancelled"], "\(events)")
            }
            await gateway.stop()
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func anOpenStreamDoesNotHoldUpTheGatewaysShutdown() async throws {
        try await TestStack.with(name: "taskshutdown", poolYAML: TaskAPITests.pool, defaults: TestStack.patientDefaults) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            try await stack.withFrozenWorkers {
                let task = try await stack.submit(agent: agent, body: #"{"input": "open"}"#).task
                let stream = try EventStreamConnection(port: try stack.port, path: "/api/v1/tasks/\(task.taskID)/events", apiKey: nil)
                #expect(await stream.read(until: { $0.contains("event: queued") }, timeout: .seconds(20)))
                let gateway = try #require(stack.services.last { $0.name.contains("gateway") })
                let started = ContinuousClock.now
                let status = await gateway.stop(timeout: .seconds(20))
                print("the gateway exited \(status.map(String.init) ?? "not") \(ContinuousClock.now - started) after SIGTERM with a stream open")
                #expect(status == 0)
                #expect(await stream.readToEnd(timeout: .seconds(5)), "the stream stayed open")
            }
        }
    }

    /// The body of a raw HTTP/1.1 answer, chunked transfer coding removed (worked on bytes:
    /// as Characters, a chunk's "\n" and the next "\r\n" would merge).
    static func body(of raw: String) -> String {
        let bytes = Array(raw.utf8)
        let crlf: [UInt8] = [13, 10]
        guard let headEnd = bytes.firstRange(of: crlf + crlf) else { return "" }
        var index = headEnd.upperBound
        var body: [UInt8] = []
        while let lineEnd = bytes[index...].firstRange(of: crlf),
              let size = Int(String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self), radix: 16), size > 0,
              lineEnd.upperBound + size <= bytes.count
        {
            body += bytes[lineEnd.upperBound..<(lineEnd.upperBound + size)]
            index = lineEnd.upperBound + size + 2
            guard index <= bytes.count else { break }
        }
        return String(decoding: body, as: UTF8.self)
    }
}
