import Foundation
import Kusari

/// Writes the trained model to `out/model.npz` (``Trainer/saveModel(to:)``) in the last
/// iteration, when the stop trigger fires or a non-failing stop was requested; nothing is
/// written when training failed.
public final class FinalModel: Extension {
    /// File name under the trainer's `out`.
    public let filename: String

    /// - Parameter filename: file name under `out` (default `model.npz`).
    public init(filename: String = "model.npz") { self.filename = filename }

    public var name: String { "FinalModel" }
    public var priority: Int { ExtensionPriority.snapshot - 100 }
    public var trigger: Trigger { .custom { $0.isFinalIteration && !$0.hasFailed } }

    /// Saves the model.
    public func callAsFunction(_ trainer: Trainer) throws {
        try trainer.saveModel(to: trainer.out.appendingPathComponent(filename))
    }
}
