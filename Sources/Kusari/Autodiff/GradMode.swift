import Foundation

/// Whether ops record backward steps on the current thread.
public enum GradMode {
    private static let key = "kusari.gradMode.disabled"

    /// `true` unless inside ``withNoGrad(_:)`` on this thread.
    public static var isEnabled: Bool {
        Thread.current.threadDictionary[key] == nil
    }

    /// Runs `body` without recording any backward steps (evaluation, optimizer updates).
    @discardableResult
    public static func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
        let dictionary = Thread.current.threadDictionary
        let previous = dictionary[key]
        dictionary[key] = true
        defer { dictionary[key] = previous }
        return try body()
    }

    /// Runs `body` with recording on, even inside ``withNoGrad(_:)`` (`torch.enable_grad`): for
    /// code that differentiates while its caller does not, such as a backward pass computed by
    /// re-running a forward.
    @discardableResult
    public static func withGrad<R>(_ body: () throws -> R) rethrows -> R {
        let dictionary = Thread.current.threadDictionary
        let previous = dictionary[key]
        dictionary[key] = nil
        defer { dictionary[key] = previous }
        return try body()
    }
}

/// Runs `body` without recording any backward steps; shorthand for ``GradMode/withNoGrad(_:)``.
@discardableResult
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.withNoGrad(body)
}

/// Whether GPU ops must give bit-identical results from run to run (`--deterministic`, like
/// `torch.use_deterministic_algorithms`): backends then choose deterministic cuDNN algorithms
/// and scatter-add in index order instead of with atomics. CPU ops are always deterministic.
public enum DeterministicAlgorithms {
    nonisolated(unsafe) private static var enabled = false

    /// Whether deterministic algorithms are required (process-wide; `false` by default).
    public static var isEnabled: Bool {
        get { enabled }
        set { enabled = newValue }
    }
}
