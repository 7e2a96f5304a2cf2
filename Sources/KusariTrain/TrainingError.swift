import Foundation

/// A snapshot or state dict the trainer cannot load: names the entry and what was wrong.
public struct TrainerStateError: Error, CustomStringConvertible, LocalizedError {
    /// What was wrong, naming the state-dict key.
    public let message: String

    /// An error with the given message.
    public init(_ message: String) { self.message = message }

    /// `cannot load trainer state: ` followed by the message.
    public var description: String { "cannot load trainer state: \(message)" }
    /// Same as ``description``.
    public var errorDescription: String? { description }
}

/// Why ``Trainer/run()`` ended early: an extension (such as ``NaNGuard``) asked the trainer to
/// stop because training failed, or the training source ran out of batches.
public struct TrainingStopped: Error, CustomStringConvertible, LocalizedError {
    /// The explanation given by whoever stopped the training.
    public let reason: String
    /// The iteration at which training stopped.
    public let iteration: Int

    /// An error with the given reason.
    public init(reason: String, iteration: Int) {
        self.reason = reason
        self.iteration = iteration
    }

    /// The reason.
    public var description: String { reason }
    /// Same as ``description``.
    public var errorDescription: String? { description }
}

/// A request to end the training loop after the current iteration (see ``Trainer/stop(reason:failure:)``).
public struct StopRequest: Sendable, Equatable {
    /// Why training stops.
    public let reason: String
    /// Whether training failed (then snapshots and the final model are not written and
    /// ``Trainer/run()`` throws ``TrainingStopped``).
    public let isFailure: Bool
    /// The iteration at which the stop was requested.
    public let iteration: Int
}

/// An extension that cannot work with the trainer it was given (for example a ``PrintReport``
/// without its ``LogReport``).
public struct TrainerSetupError: Error, CustomStringConvertible, LocalizedError {
    /// What is missing or wrong.
    public let message: String

    /// An error with the given message.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
    /// Same as ``description``.
    public var errorDescription: String? { description }
}
