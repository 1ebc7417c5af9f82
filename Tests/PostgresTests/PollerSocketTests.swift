import Foundation
@testable import Postgres
import Testing
import TestSupport

/// The poller thread on real sockets (a socketpair), with each backend: readiness, deadlines,
/// cancellation and unregistering, without PostgreSQL.
@Suite("Poller on sockets", .serialized)
struct PollerSocketTests {
    static var backends: [String] {
        #if os(Linux)
        ["epoll", "poll"]
        #else
        ["poll"]
        #endif
    }

    static func poller(_ backend: String) -> PostgresPoller {
        #if os(Linux)
        if backend == "epoll" { return PostgresPoller(backend: EpollBackend()) }
        #endif
        return PostgresPoller(backend: PollBackend())
    }

    /// A connected pair of stream sockets; closed after `body`.
    static func withSocketPair<T>(_ body: (Int32, Int32) async throws -> T) async throws -> T {
        var ends: [Int32] = [0, 0]
        #if os(Linux)
        let type = Int32(SOCK_STREAM.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        try #require(socketpair(AF_UNIX, type, 0, &ends) == 0)
        defer {
            close(ends[0])
            close(ends[1])
        }
        return try await body(ends[0], ends[1])
    }

    @Test("a wait ends when the peer writes, at its deadline, and on cancellation", .timeLimit(.minutes(1)),
          arguments: backends)
    func readyTimeoutCancel(backend: String) async throws {
        let poller = Self.poller(backend)
        defer { poller.stop() }
        try await Self.withSocketPair { ours, theirs in
            let registration = try poller.register(ours)

            let writer = Task {
                try await Task.sleep(for: .milliseconds(50))
                var byte: UInt8 = 7
                _ = write(theirs, &byte, 1)
            }
            let started = ContinuousClock.now
            let ready = await poller.wait(registration, for: .readable, until: .now + .seconds(10))
            print("\(backend): readable after \(ContinuousClock.now - started): \(ready)")
            #expect(ready == .ready(.readable))
            try await writer.value
            var buffer: UInt8 = 0
            _ = read(ours, &buffer, 1)

            let writable = await poller.wait(registration, for: .writable, until: .now + .seconds(10))
            #expect(writable == .ready(.writable))

            let timing = ContinuousClock.now
            let timedOut = await poller.wait(registration, for: .readable, until: .now + .milliseconds(200))
            let waited = ContinuousClock.now - timing
            print("\(backend): a 200 ms deadline ended the wait after \(waited): \(timedOut)")
            #expect(timedOut == .timedOut)
            #expect(waited >= .milliseconds(200))
            #expect(waited < .seconds(5))

            let waiter = Task { await poller.wait(registration, for: .readable, until: .now + .seconds(30)) }
            try await Task.sleep(for: .milliseconds(50))
            let cancelling = ContinuousClock.now
            waiter.cancel()
            let cancelled = await waiter.value
            print("\(backend): cancellation ended the wait after \(ContinuousClock.now - cancelling): \(cancelled)")
            #expect(cancelled == .cancelled)

            let closing = Task { await poller.wait(registration, for: .readable, until: .now + .seconds(30)) }
            try await Poll.until("the wait is armed") { poller.counts.waiting == 1 }
            poller.unregister(registration)
            #expect(await closing.value == .closed)
            #expect(poller.counts.registered == 0)
        }
    }

    @Test("many sockets wait at once and each is woken by its own peer", .timeLimit(.minutes(1)), arguments: backends)
    func manySockets(backend: String) async throws {
        let poller = Self.poller(backend)
        defer { poller.stop() }
        var pairs: [(Int32, Int32)] = []
        for _ in 0..<20 {
            var ends: [Int32] = [0, 0]
            #if os(Linux)
            try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0)
            #else
            try #require(socketpair(AF_UNIX, SOCK_STREAM, 0, &ends) == 0)
            #endif
            pairs.append((ends[0], ends[1]))
        }
        defer {
            for (a, b) in pairs {
                close(a)
                close(b)
            }
        }
        let registrations = try pairs.map { try poller.register($0.0) }
        let outcomes = await withTaskGroup(of: (Int, PollerOutcome).self) { group in
            for (index, registration) in registrations.enumerated() {
                group.addTask { (index, await poller.wait(registration, for: .readable, until: .now + .seconds(20))) }
            }
            // Wake them in reverse order.
            for (_, theirs) in pairs.reversed() {
                var byte: UInt8 = 1
                _ = write(theirs, &byte, 1)
            }
            var outcomes: [Int: PollerOutcome] = [:]
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
        #expect(outcomes.count == 20)
        #expect(outcomes.values.allSatisfy { $0 == .ready(.readable) }, "\(outcomes)")
        for registration in registrations { poller.unregister(registration) }
    }
}
