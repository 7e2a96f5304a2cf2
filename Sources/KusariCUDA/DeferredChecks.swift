import Foundation

/// Checks of kernel results that need a value from device memory (a flag a kernel lowers to the
/// first out-of-range label or index), made the next time the host waits for the GPU anyway
/// instead of right after the launch. Reading a flag at once would stall the stream in mid-step;
/// deferred, the flags are copied back in the same wait as the data the host asked for (a loss
/// reported with `item()`, a copy to the host), and an error surfaces there, much as a
/// device-side assert does in PyTorch.
///
/// At most ``limit`` checks wait: the owner runs them all before queueing one more, so a loop
/// that never reads device data still finds its errors (and holds no more than ``limit`` flags).
final class DeferredChecks<Flag>: @unchecked Sendable {
    /// A waiting check: the flag a kernel was given, and what to throw when the flag holds the
    /// position of something bad.
    struct Check {
        /// Where the kernel leaves the first bad position it found.
        let flag: Flag
        /// Throws the error for the bad `position` (it may read device memory).
        let report: (_ position: Int) throws -> Void
    }

    /// Most checks kept waiting; see ``isFull``.
    let limit: Int
    private let lock = NSLock()
    private var pending: [Check] = []

    /// A queue holding up to `limit` checks.
    init(limit: Int = 64) {
        precondition(limit > 0, "DeferredChecks: the limit must be positive")
        self.limit = limit
    }

    /// Checks waiting to be made.
    var count: Int { lock.withLock { pending.count } }

    /// Whether ``limit`` checks wait: run them (``takeAll()``) before adding another.
    var isFull: Bool { count >= limit }

    /// Queues a check of `flag`.
    func add(_ flag: Flag, report: @escaping (_ position: Int) throws -> Void) {
        lock.withLock { pending.append(Check(flag: flag, report: report)) }
    }

    /// Empties the queue and returns the checks that waited, oldest first, for the caller to
    /// read their flags and pass to ``report(_:positions:)``.
    func takeAll() -> [Check] {
        lock.withLock {
            defer { pending = [] }
            return pending
        }
    }

    /// Throws the error of the oldest check whose flag held a bad position (`positions[i]` is
    /// what `checks[i]`'s flag held, `nil` for nothing bad); one error is reported.
    static func report(_ checks: [Check], positions: [Int?]) throws {
        precondition(checks.count == positions.count, "\(positions.count) positions for \(checks.count) checks")
        for (check, position) in zip(checks, positions) {
            if let position { try check.report(position) }
        }
    }
}
