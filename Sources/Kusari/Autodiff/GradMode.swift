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
}

/// Runs `body` without recording any backward steps; shorthand for ``GradMode/withNoGrad(_:)``.
@discardableResult
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.withNoGrad(body)
}
