import Foundation
import Kusari

/// Stops training as soon as an observation (or, optionally, a model parameter) is NaN or
/// infinite, with a message naming the iteration and the value (the NaN guard of the seeds'
/// lessons, Chainer's `FailOnNonNumber`). It runs every iteration as an editor, so before log
/// reports (which still record the bad entry) and before ``Snapshot``, which then writes nothing:
/// the last good snapshot stays untouched and ``Trainer/run()`` throws ``TrainingStopped``.
public final class NaNGuard: Extension {
    /// Observation names to check, or `nil` for all.
    public let keys: [String]?
    /// Also scan the model's parameters (catches a NaN update before the next loss shows it).
    public let checkParameters: Bool
    /// The message of the last stop, if it fired.
    public private(set) var message: String?

    /// - Parameters:
    ///   - keys: observation names to watch (default: all).
    ///   - checkParameters: also check every parameter of the model each iteration (default `true`).
    public init(keys: [String]? = nil, checkParameters: Bool = true) {
        self.keys = keys
        self.checkParameters = checkParameters
    }

    public var name: String { "NaNGuard" }
    public var priority: Int { ExtensionPriority.editor }

    /// Checks the current observation (and parameters); stops the trainer with a failure on a
    /// non-finite value.
    public func callAsFunction(_ trainer: Trainer) throws {
        guard let problem = findProblem(trainer) else { return }
        let updater = trainer.updater
        var text = "NaN guard: training stopped at iteration \(updater.iteration) (epoch \(updater.epoch)): \(problem)."
        let snapshots = trainer.extensions.compactMap { ($0.extension as? Snapshot)?.latest(in: trainer) }
        if let last = snapshots.last {
            text += " The last good snapshot is kept: \(last.path) (resume from it, e.g. with a lower learning rate)."
        } else {
            text += " No snapshot had been written."
        }
        message = text
        trainer.stop(reason: text, failure: true)
    }

    private func findProblem(_ trainer: Trainer) -> String? {
        for (key, value) in trainer.observation where keys?.contains(key) ?? true {
            if !value.isFinite { return "observation '\(key)' is \(NaNGuard.describe(value))" }
        }
        guard checkParameters else { return nil }
        for (name, parameter) in trainer.updater.model.namedParameters() where parameter.dtype == .float32 {
            let bad = parameter.contiguous().withUnsafeFloats { values in values.first { !$0.isFinite } }
            if let bad { return "parameter '\(name)' contains \(NaNGuard.describe(Double(bad)))" }
        }
        return nil
    }

    static func describe(_ value: Double) -> String {
        value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf")
    }
}
