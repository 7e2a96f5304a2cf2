import Foundation

/// Optional per-op wall-clock accounting, switched on with `KUSARI_PROFILE=1` (or
/// ``isEnabled``); ``report()`` lists where the time went.
public enum OpProfiler {
    /// Whether ops are being timed.
    nonisolated(unsafe) public static var isEnabled = ProcessInfo.processInfo.environment["KUSARI_PROFILE"] == "1"
    nonisolated(unsafe) private static var totals: [String: (seconds: Double, calls: Int)] = [:]
    private static let lock = NSLock()

    /// Runs `body`, adding its duration to `name` when profiling.
    @inline(__always)
    public static func measure<R>(_ name: String, _ body: () -> R) -> R {
        guard isEnabled else { return body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        lock.lock()
        let previous = totals[name] ?? (0, 0)
        totals[name] = (previous.seconds + seconds, previous.calls + 1)
        lock.unlock()
        return result
    }

    /// A table of time per op, largest first.
    public static func report() -> String {
        lock.lock(); defer { lock.unlock() }
        let total = totals.values.reduce(0) { $0 + $1.seconds }
        var lines = ["op                         seconds   share   calls"]
        for (name, entry) in totals.sorted(by: { $0.value.seconds > $1.value.seconds }) {
            lines.append(name.padding(toLength: 24, withPad: " ", startingAt: 0)
                         + String(format: "%10.3f %6.1f%% %7d", entry.seconds, 100 * entry.seconds / max(total, 1e-9), entry.calls))
        }
        return lines.joined(separator: "\n")
    }

    /// Clears the accumulated times.
    public static func reset() {
        lock.lock(); totals.removeAll(); lock.unlock()
    }
}
