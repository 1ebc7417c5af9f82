import NIOCore
import Testing

@testable import Redis

/// The connection's decisions, driven by event sequences: no socket, no clock (instants
/// are made up and passed in).
@Suite("Redis connection state machine (no socket)")
struct RedisConnectionStateMachineTests {
    typealias Machine = RedisConnectionStateMachine<Int>

    /// An action as text, so that sequences compare at a glance.
    static func summary(_ action: Machine.Action) -> String {
        func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }
        func list(_ replies: [RedisReply]) -> String { replies.map { "\($0)" }.joined(separator: ", ") }
        switch action {
        case .none: return "none"
        case .write(let bytes): return "write \(text(bytes))"
        case .writeAll(let all): return "writeAll \(all.map(text))"
        case .succeed(let caller, let replies): return "succeed \(caller) \(list(replies))"
        case .succeedAndClose(let caller, let replies): return "succeedAndClose \(caller) \(list(replies))"
        case .push(let reply): return "push \(reply)"
        case .fail(let caller, let error): return "fail \(caller) \(error.code)"
        case .failAll(let callers, let close):
            return "failAll \(callers.map { "\($0.0) \($0.1.code)" }) close=\(close)"
        }
    }

    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func command(_ id: Int, _ text: String, replies: Int = 1, at start: NIODeadline = t0) -> Machine.Command {
        Machine.Command(
            id: UInt64(id), bytes: ByteBuffer(string: text), replyCount: replies, deadline: start + .seconds(5),
            timeout: .seconds(5), caller: id)
    }

    static func ready() -> Machine {
        var machine = Machine(server: "redis://test", handshake: [])
        _ = machine.connected()
        return machine
    }

    @Test func handshakeFirstThenQueuedCommandsInOrder() {
        var machine = Machine(server: "redis://test", handshake: [ByteBuffer(string: "AUTH"), ByteBuffer(string: "SELECT")])
        #expect(Self.summary(machine.send(Self.command(1, "GET a"))) == "none")
        #expect(Self.summary(machine.connected()) == #"writeAll ["AUTH", "SELECT"]"#)
        #expect(Self.summary(machine.send(Self.command(2, "GET b"))) == "none")
        #expect(Self.summary(machine.received(.status("OK"))) == "none")
        #expect(Self.summary(machine.received(.status("OK"))) == #"writeAll ["GET a", "GET b"]"#)
        #expect(Self.summary(machine.received(.bulk([0x61]))) == "succeed 1 bulk([97])")
        #expect(Self.summary(machine.received(.null)) == "succeed 2 null")
    }

    @Test func rejectedAuthFailsEveryoneWithConfigurationAndCloses() {
        var machine = Machine(server: "redis://test", handshake: [ByteBuffer(string: "AUTH")])
        _ = machine.send(Self.command(1, "GET a"))
        _ = machine.connected()
        #expect(Self.summary(machine.received(.error("WRONGPASS"))) == #"failAll ["1 configuration"] close=true"#)
        #expect(Self.summary(machine.send(Self.command(2, "GET b"))) == "fail 2 configuration")
    }

    @Test func pipelinedRepliesGoToCallersInOrder() {
        var machine = Self.ready()
        for id in 1...3 { #expect(Self.summary(machine.send(Self.command(id, "INCR x"))) == "write INCR x") }
        #expect(machine.waitingCount == 3)
        var answered: [String] = []
        for value in 1...3 { answered.append(Self.summary(machine.received(.integer(value)))) }
        #expect(answered == (1...3).map { "succeed \($0) integer(\($0))" })
        #expect(machine.waitingCount == 0)
    }

    @Test func aPipelineCollectsAllItsReplies() {
        var machine = Self.ready()
        _ = machine.send(Self.command(1, "MULTI", replies: 3))
        _ = machine.send(Self.command(2, "PING"))
        #expect(Self.summary(machine.received(.integer(1))) == "none")
        #expect(Self.summary(machine.received(.error("ERR x"))) == "none")
        #expect(
            Self.summary(machine.received(.integer(3)))
                == "succeed 1 integer(1), error(\"ERR x\"), integer(3)")
        #expect(Self.summary(machine.received(.status("PONG"))) == "succeed 2 status(\"PONG\")")
    }

    @Test func cancelledAfterTheWriteIsAnsweredAtOnceAndItsReplyDiscarded() {
        var machine = Self.ready()
        _ = machine.send(Self.command(1, "GET a"))
        _ = machine.send(Self.command(2, "GET b"))
        #expect(Self.summary(machine.cancel(1)) == "fail 1 cancelled")
        #expect(machine.waitingCount == 1)
        #expect(Self.summary(machine.received(.bulk([1]))) == "none")  // caller 1's late reply
        #expect(Self.summary(machine.received(.bulk([2]))) == "succeed 2 bulk([2])")
    }

    @Test func cancelledBeforeTheWriteNeverSends() {
        var machine = Machine(server: "redis://test", handshake: [])
        _ = machine.send(Self.command(1, "GET a"))
        _ = machine.send(Self.command(2, "GET b"))
        #expect(Self.summary(machine.cancel(1)) == "fail 1 cancelled")
        #expect(Self.summary(machine.connected()) == #"writeAll ["GET b"]"#)
        // A cancellation that overtook its own send: the command is refused when it comes.
        #expect(Self.summary(machine.cancel(3)) == "none")
        #expect(Self.summary(machine.send(Self.command(3, "GET c"))) == "fail 3 cancelled")
    }

    @Test func cancellingABlockingCommandClosesTheConnection() {
        var machine = Machine(server: "redis://test", handshake: [], closeOnCancel: true)
        _ = machine.connected()
        _ = machine.send(Self.command(1, "BLPOP k 5"))
        #expect(Self.summary(machine.cancel(1)) == #"failAll ["1 cancelled"] close=true"#)
    }

    @Test func aDeadlinePassedWithRepliesOutstandingFailsThemAndCloses() {
        var machine = Self.ready()
        _ = machine.send(Self.command(1, "GET a"))
        _ = machine.send(Self.command(2, "GET b", at: Self.t0 + .milliseconds(10)))
        #expect(machine.nextDeadline == Self.t0 + .seconds(5))
        #expect(Self.summary(machine.deadlinePassed(now: Self.t0 + .seconds(4))) == "none")
        #expect(
            Self.summary(machine.deadlinePassed(now: Self.t0 + .seconds(5))) == #"failAll ["1 timeout", "2 timeout"] close=true"#)
        #expect(Self.summary(machine.send(Self.command(3, "GET c"))) == "fail 3 timeout")
        #expect(Self.summary(machine.received(.null)) == "none", "a late reply after the close is ignored")
    }

    @Test func aCommandQueuedPastItsDeadlineFailsUnsent() {
        var machine = Machine(server: "redis://test", handshake: [])
        _ = machine.send(Self.command(1, "GET a"))
        _ = machine.send(Self.command(2, "GET b", at: Self.t0 + .seconds(1)))
        #expect(Self.summary(machine.deadlinePassed(now: Self.t0 + .seconds(5))) == #"failAll ["1 timeout"] close=false"#)
        #expect(Self.summary(machine.connected()) == #"writeAll ["GET b"]"#)
    }

    @Test func eofFailsEveryPendingCommandWithConnection() {
        var machine = Self.ready()
        _ = machine.send(Self.command(1, "GET a"))
        _ = machine.send(Self.command(2, "GET b"))
        _ = machine.received(.null)
        #expect(Self.summary(machine.closed(nil)) == #"failAll ["2 connection"] close=false"#)
        #expect(Self.summary(machine.send(Self.command(3, "GET c"))) == "fail 3 connection")
    }

    @Test func connectFailureFailsQueuedCommands() {
        var machine = Machine(server: "redis://test", handshake: [])
        _ = machine.send(Self.command(1, "GET a"))
        let refused = RedisError(.connection, "refused")
        #expect(Self.summary(machine.connectFailed(refused)) == #"failAll ["1 connection"] close=false"#)
    }

    @Test func closeWaitsForWrittenRepliesAndRefusesNewOnes() {
        var machine = Self.ready()
        _ = machine.send(Self.command(1, "GET a"))
        #expect(Self.summary(machine.close()) == "failAll [] close=false")
        #expect(Self.summary(machine.send(Self.command(2, "GET b"))) == "fail 2 shutdown")
        #expect(Self.summary(machine.received(.null)) == "succeedAndClose 1 null")
        #expect(Self.summary(machine.close()) == "none")
    }

    @Test func closeWhileConnectingFailsQueuedWithShutdown() {
        var machine = Machine(server: "redis://test", handshake: [])
        _ = machine.send(Self.command(1, "GET a"))
        #expect(Self.summary(machine.close()) == #"failAll ["1 shutdown"] close=true"#)
        #expect(Self.summary(machine.connected()) == "none")
    }

    @Test func aReplyNobodyAskedForIsAProtocolViolation() {
        var machine = Self.ready()
        #expect(Self.summary(machine.received(.status("OK"))) == "failAll [] close=true")
        #expect(Self.summary(machine.send(Self.command(1, "GET a"))) == "fail 1 protocolViolation")
    }

    @Test func pushModeDeliversEveryReply() {
        var machine = Self.ready()
        #expect(Self.summary(machine.sendUntracked(ByteBuffer(string: "SUBSCRIBE c"), entersPushMode: true)) == "write SUBSCRIBE c")
        #expect(Self.summary(machine.received(.array([.bulk(Array("subscribe".utf8))]))).hasPrefix("push "))
        #expect(Self.summary(machine.sendUntracked(ByteBuffer(string: "PING"))) == "write PING")
        #expect(Self.summary(machine.send(Self.command(1, "GET a"))) == "fail 1 protocolViolation")
    }

    @Test func protocolErrorFailsAllAndCloses() {
        var machine = Self.ready()
        _ = machine.send(Self.command(1, "GET a"))
        let error = RedisError(.protocolViolation, "bad byte")
        #expect(Self.summary(machine.protocolError(error)) == #"failAll ["1 protocolViolation"] close=true"#)
    }
}

extension RedisConnectionStateMachineTests {
    @Test func aHandshakeWithoutAnswerClosesTheConnectionAtTheDeadline() {
        var machine = Machine(server: "redis://test", handshake: [ByteBuffer(string: "AUTH")])
        _ = machine.send(Self.command(1, "GET a"))
        _ = machine.connected()
        #expect(Self.summary(machine.deadlinePassed(now: Self.t0 + .seconds(5))) == #"failAll ["1 timeout"] close=true"#)
    }
}
