import Foundation
import Kusari
import KusariData
import KusariNN

/// Evaluates the model on a validation source (Chainer's `Evaluator`): resets the source, runs the
/// loss function on every batch (moved to ``device``) in evaluation mode without recording
/// gradients, and reports the
/// means of what it reported, weighted by batch size, prefixed with the extension's name
/// (`validation/main/loss`, `validation/main/accuracy`). The model's previous training mode is
/// restored afterwards. Runs every epoch by default, as a writer (before log reports).
public final class Evaluator: Extension {
    /// The validation batches: a non-repeating source, reset before each evaluation.
    public let source: BatchSource
    /// The evaluated model.
    public let model: Module
    /// The loss of a batch (it reports the observations).
    public let loss: LossFunction
    /// Prefix of the reported names (Chainer's default `validation`).
    public let prefix: String
    /// Where each batch is moved before the loss sees it; the model should be there too.
    public let device: Device
    private let defaultTrigger: Trigger
    /// Called at the start of each evaluation (Chainer's `eval_hook`).
    public var evalHook: ((Evaluator) -> Void)?
    /// Wraps each evaluation, for example to evaluate with averaged weights swapped in:
    /// `evaluator.weightSwap = { body in try ema.withAveragedWeights(body) }`. The wrapper must
    /// call `body` once.
    public var weightSwap: ((_ body: () throws -> Void) throws -> Void)?

    /// - Parameters:
    ///   - source: non-repeating validation batches.
    ///   - model: the model to evaluate.
    ///   - loss: the loss function (default ``ClassifierLoss``, reporting `main/loss`, `main/accuracy`).
    ///   - prefix: prefix of the reported names and the default registration name (`validation`).
    ///   - trigger: default trigger (every epoch).
    ///   - device: where the batches are moved before the loss (default the CPU).
    public init(source: BatchSource, model: Module, loss: @escaping LossFunction = ClassifierLoss().function,
                prefix: String = "validation", trigger: Trigger = .epochs(1), device: Device = .cpu) {
        self.source = source
        self.model = model
        self.loss = loss
        self.prefix = prefix
        self.device = device
        self.defaultTrigger = trigger
    }

    public var name: String { prefix }
    public var trigger: Trigger { defaultTrigger }
    public var priority: Int { ExtensionPriority.writer }

    /// Evaluates and reports the results to the trainer's current observation.
    public func callAsFunction(_ trainer: Trainer) throws {
        trainer.reporter.report(try evaluate())
    }

    /// Runs one evaluation over the whole source and returns the weighted means, named
    /// `prefix/…` (usable without a trainer).
    /// - Throws: what ``weightSwap`` throws, or the device's error when a batch cannot be moved.
    public func evaluate() throws -> Observation {
        evalHook?(self)
        var summary = DictSummary()
        let pass = { () throws in
            let wasTraining = self.model.isTraining
            self.model.eval()
            defer { self.model.train(wasTraining) }
            self.source.reset()
            let reporter = Reporter()
            while let next = self.source.next() {
                let batch = try next.to(device: self.device)
                let (_, observation) = reporter.withScope {
                    withNoGrad { _ = self.loss(self.model, batch, reporter) }
                }
                summary.add(observation, weight: Double(batch.count))
            }
        }
        if let weightSwap { try weightSwap(pass) } else { try pass() }
        return Observation(summary.means.map { (prefix.isEmpty ? $0.key : "\(prefix)/\($0.key)", $0.value) })
    }
}
