import Foundation

/// Checks of kernel results that need a value from device memory (a flag a kernel sets for an
/// out-of-range label or index), run the next time the host waits for the GPU anyway instead of
/// right after the launch. Reading a flag at once would stall the stream in mid-step; deferred,
/// an error surfaces at the next read of device data (a loss reported with `item()`, a copy to
/// the host), much as a device-side assert does in PyTorch.
///
/// At most ``limit`` checks wait: registering one more runs them all first, so a loop that never
/// reads device data still finds its errors (and holds no more than ``limit`` flags).
final class DeferredChecks: @unchecked Sendable {
    /// A check: reads its flag (the queued work has finished) and throws what it found.
    typealias Check = () throws -> Void

    /// Most checks kept waiting before ``add(_:)`` runs them.
    let limit: Int
    private let lock = NSLock()
    private var pending: [Check] = []

    /// A queue running its checks once `limit` of them wait.
    init(limit: Int = 64) {
        precondition(limit > 0, "DeferredChecks: the limit must be positive")
        self.limit = limit
    }

    /// Checks waiting to run.
    var count: Int { lock.withLock { pending.count } }

    /// Queues `check`; when ``limit`` checks already wait, runs them first.
    /// - Throws: the first failure of the checks that ran.
    func add(_ check: @escaping Check) throws {
        if count >= limit { try runAll() }
        lock.withLock { pending.append(check) }
    }

    /// Runs every waiting check, oldest first, and throws the first failure (the checks after it
    /// are dropped: one error is reported). The queue is emptied before the checks run, so a
    /// check may itself read device memory.
    func runAll() throws {
        let checks = lock.withLock { () -> [Check] in
            defer { pending = [] }
            return pending
        }
        for check in checks { try check() }
    }
}
