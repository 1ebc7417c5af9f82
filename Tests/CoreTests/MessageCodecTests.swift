import Foundation
import PoolProtocol
import Testing

@Suite struct MessageCodecTests {
    let agentID = Identifier.make()
    let processID = Identifier.make()

    var spec: AgentSpec {
        AgentSpec(agentID: agentID, name: "dev-1", poolName: "developer_pool", role: "developer",
                  metadata: ["team": .string("core"), "level": .number(3), "tags": .array([.bool(true), .null])])
    }

    @Test func everyMessageRoundTripsAsOneLine() throws {
        let messages: [PoolMessage] = [
            .placeAgent(PlaceAgent(agent: spec)),
            .terminateAgent(TerminateAgent(agentID: agentID)),
            .startAgent(StartAgent(targetProcessID: processID, epoch: 4, agent: spec)),
            .startAgent(StartAgent(targetProcessID: processID, epoch: 4, agent: spec, isNew: true)),
            .stopAgent(StopAgent(targetProcessID: processID, epoch: 4, agentID: agentID)),
            .retireWorker(RetireWorker(targetProcessID: processID, epoch: 1)),
            .workerRegistered(WorkerEvent(processID: processID)),
            .workerStopping(WorkerEvent(processID: processID)),
            .agentStarted(AgentEvent(processID: processID, agentID: agentID)),
            .agentStopped(AgentEvent(processID: processID, agentID: agentID)),
            .agentStarted(AgentEvent(processID: processID, agentID: agentID, updatedAt: "2026-11-29T06:41:51.123Z")),
            .agentFailed(AgentFailed(processID: nil, agentID: agentID, reason: "pool full", retryable: true)),
            .cancelTask(CancelTask(targetProcessID: processID, agentID: agentID, taskID: Identifier.make())),
            .taskUpdated(TaskUpdated(agentID: agentID, taskID: Identifier.make(), status: .timedOut, eventID: 7)),
            .taskUpdated(TaskUpdated(
                agentID: agentID, taskID: Identifier.make(), status: .succeeded, eventID: 3,
                ending: TaskEnding(
                    output: .object(["n": .number(1), "text": .string("héllo\n")]), error: nil, attempt: 1, cancelRequested: false,
                    startedAt: Timestamp.date("2026-12-03T07:01:02.003Z"), finishedAt: try #require(Timestamp.date("2026-12-03T07:01:02.004Z")),
                    updatedAt: try #require(Timestamp.date("2026-12-03T07:01:02.004Z"))))),
        ]
        for message in messages {
            let line = MessageCodec.encode(message)
            #expect(!line.contains(UInt8(ascii: "\n")))
            #expect(try MessageCodec.decode(line) == message)
        }
        #expect(Set(messages.map(\.type)) == Set(MessageType.allCases))
    }

    /// `new` is optional both ways: a worker of an earlier release ignores it, and a command
    /// without it (every sender but the gateway's placement) reads as not new.
    @Test func aStartSaysNewOnlyWhenItsSenderDoes() throws {
        let line = MessageCodec.encode(.startAgent(StartAgent(targetProcessID: processID, epoch: 2, agent: spec, isNew: true)))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        #expect(object["new"] as? Bool == true)
        let plain = MessageCodec.encode(.startAgent(StartAgent(targetProcessID: processID, epoch: 2, agent: spec)))
        #expect(!String(decoding: plain, as: UTF8.self).contains("\"new\""))
        guard case .startAgent(let command) = try MessageCodec.decode(plain) else {
            Issue.record("not a start")
            return
        }
        #expect(command.isNew == nil)
    }

    @Test func wireFormatCarriesVersionTypeAndTarget() throws {
        let line = MessageCodec.encode(.stopAgent(StopAgent(targetProcessID: processID, epoch: 2, agentID: agentID)), messageID: "m1")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        #expect(object["v"] as? Int == 1)
        #expect(object["type"] as? String == "stop_agent")
        #expect(object["message_id"] as? String == "m1")
        #expect(object["target_process_id"] as? String == processID)
        #expect(object["epoch"] as? Int == 2)
    }

    @Test(arguments: [
        "", "not json", "[]", "{}", "{\"v\":1}", "{\"v\":2,\"type\":\"stop_agent\",\"message_id\":\"x\"}",
        "{\"v\":1,\"type\":\"explode\",\"message_id\":\"x\"}",
        "{\"v\":1,\"type\":\"stop_agent\",\"message_id\":\"x\"}",
        "{\"v\":1,\"type\":\"stop_agent\",\"message_id\":\"x\",\"target_process_id\":\"../../etc\",\"epoch\":1,\"agent_id\":\"a\"}",
        "{\"v\":1,\"type\":\"agent_started\",\"message_id\":\"x\",\"process_id\":7,\"agent_id\":null}",
        "{\"v\":1,\"type\":\"agent_started\",\"message_id\":\"x\",\"process_id\":\"00000000-0000-0000-0000-000000000000\",\"agent_id\":\"00000000-0000-0000-0000-000000000000\",\"updated_at\":\"<b>soon</b>\"}",
        "{\"v\":1,\"type\":\"retire_worker\",\"message_id\":\"x\",\"target_process_id\":\"00000000-0000-0000-0000-000000000000\",\"epoch\":-1}",
        "{\"v\":1,\"type\":\"worker_registered\",\"message_id\":\"x\",\"process_id\":\"00000000-0000-0000-0000-000000000000\"}\n{}",
    ])
    func malformedLinesAreRejectedWithAReason(_ line: String) {
        #expect(throws: MessageDecodingError.self) { try MessageCodec.decode(Array(line.utf8)) }
    }

    @Test func uppercaseIdsAreNotCanonical() {
        let line = "{\"v\":1,\"type\":\"worker_registered\",\"message_id\":\"x\",\"process_id\":\"\(processID.uppercased())\"}"
        #expect(throws: MessageDecodingError.self) { try MessageCodec.decode(Array(line.utf8)) }
    }

    @Test func errorTextNeverEchoesTheLine() {
        let secret = "{\"v\":1,\"type\":\"s3cr3t-value\",\"message_id\":\"x\"}"
        do {
            _ = try MessageCodec.decode(Array(secret.utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("unknown type"))
        }
        let bad = "{\"v\":1,\"type\":\"agent_failed\",\"message_id\":\"x\",\"agent_id\":\"p4ssw0rd\",\"reason\":\"r\",\"retryable\":false}"
        do {
            _ = try MessageCodec.decode(Array(bad.utf8))
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("p4ssw0rd"))
        }
    }
}

@Suite struct TaskMessageTests {
    @Test func aTaskUpdateWithANegativeEventIDOrABadTaskIDIsDropped() {
        let agentID = Identifier.make()
        let good = #"{"v":1,"type":"task_updated","message_id":"m","agent_id":"\#(agentID)","task_id":"\#(Identifier.make())","status":"running","event_id":2}"#
        #expect((try? MessageCodec.decode(Array(good.utf8))) != nil)
        let negative = good.replacingOccurrences(of: #""event_id":2"#, with: #""event_id":-1"#)
        #expect(throws: MessageDecodingError.self) { try MessageCodec.decode(Array(negative.utf8)) }
        let badID = #"{"v":1,"type":"task_updated","message_id":"m","agent_id":"\#(agentID)","task_id":"KEYS *","status":"running","event_id":2}"#
        #expect(throws: MessageDecodingError.self) { try MessageCodec.decode(Array(badID.utf8)) }
        let badStatus = good.replacingOccurrences(of: #""status":"running""#, with: #""status":"lost""#)
        #expect(throws: MessageDecodingError.self) { try MessageCodec.decode(Array(badStatus.utf8)) }
    }

    /// A gateway answers an ending as the task, so one that cannot describe a final task is
    /// dropped like any malformed line; an update without one (progress, or a large output)
    /// stays a plain wake-up.
    @Test func anEndingComesOnlyWithAFinalStatusAndValidTimes() throws {
        let taskID = Identifier.make()
        let ending = #""ending":{"output":{"n":1},"error":null,"attempt":1,"cancel_requested":false,"started_at":"2026-12-03T07:01:02.003Z","finished_at":"2026-12-03T07:01:02.004Z","updated_at":"2026-12-03T07:01:02.004Z"}"#
        let good = #"{"v":1,"type":"task_updated","message_id":"m","agent_id":"\#(Identifier.make())","task_id":"\#(taskID)","status":"succeeded","event_id":3,\#(ending)}"#
        guard case .taskUpdated(let update) = try MessageCodec.decode(Array(good.utf8)) else {
            Issue.record("not a task update")
            return
        }
        #expect(update.ending?.output == .object(["n": .number(1)]))
        #expect(update.ending?.cancelRequested == false)
        let cases = [
            (#""status":"succeeded""#, #""status":"running""#),
            (#""attempt":1"#, #""attempt":-1"#),
            (#""finished_at":"2026-12-03T07:01:02.004Z""#, #""finished_at":"yesterday""#),
            (#""started_at":"2026-12-03T07:01:02.003Z""#, #""started_at":7"#),
            (#""cancel_requested":false,"#, ""),
        ]
        for (from, to) in cases {
            let bad = good.replacingOccurrences(of: from, with: to)
            #expect(bad != good)
            #expect(throws: MessageDecodingError.self, "\(to)") { try MessageCodec.decode(Array(bad.utf8)) }
        }
        let plain = good.replacingOccurrences(of: "," + ending, with: "")
        guard case .taskUpdated(let wakeUp) = try MessageCodec.decode(Array(plain.utf8)) else {
            Issue.record("not a task update")
            return
        }
        #expect(wakeUp.ending == nil && wakeUp.status == .succeeded)
    }

    @Test func retryBackoffDoublesFromOneSecondUpToAMinute() {
        let delays = (1...9).map { RetryBackoff.delay(afterAttempt: $0) }
        #expect(delays == [1, 2, 4, 8, 16, 32, 60, 60, 60].map { Duration.seconds($0) })
        #expect(RetryBackoff.delay(afterAttempt: 0) == .seconds(1))
        #expect(RetryBackoff.delay(afterAttempt: 10_000) == .seconds(60))
    }

    @Test func aTaskViewWritesAbsentValuesAsNulls() throws {
        let view = TaskView(
            taskID: "t", agentID: "a", poolName: "p", seq: 1, status: .queued, input: .object(["x": .number(1)]),
            output: nil, error: nil, attempt: 0, maxAttempts: 3, timeout: 300, createdAt: "c", startedAt: nil,
            finishedAt: nil, updatedAt: "u")
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(view)) as? [String: Any])
        for key in ["output", "error", "started_at", "finished_at"] { #expect(object[key] is NSNull, "\(key)") }
        #expect(object["status"] as? String == "queued")
    }
}
