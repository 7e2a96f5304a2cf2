import Foundation

/// Keeps `Threading.threadCount`, a process-wide setting, in place for a test: tests that change
/// it and tests whose comparisons need it unchanged (two runs of a network whose sums must split
/// the same way) take this lock, since `swift test` runs suites side by side in one process.
public enum ThreadCountGuard {
    private static let lock = NSLock()

    /// Runs `body` while no other guarded test runs.
    public static func run<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
