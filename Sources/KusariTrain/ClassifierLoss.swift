import Foundation
import Kusari
import KusariData
import KusariNN

/// Softmax cross-entropy on integer labels plus accuracy, like Chainer's `L.Classifier`: reports
/// `<observer>/loss` and `<observer>/accuracy` (`main/loss`, `main/accuracy` by default).
public struct ClassifierLoss {
    /// Prefix of the reported names.
    public var observer: String
    /// Runs the model on the batch inputs; by default calls the model as a ``UnaryLayer``.
    public var forward: (Module, Tensor) -> Tensor

    /// - Parameters:
    ///   - observer: prefix of the reported names (`main`).
    ///   - forward: how to compute logits from the inputs; the default calls the model, which
    ///     must then be a ``UnaryLayer``.
    public init(observer: String = "main", forward: ((Module, Tensor) -> Tensor)? = nil) {
        self.observer = observer
        self.forward = forward ?? { model, inputs in
            guard let layer = model as? any UnaryLayer else {
                preconditionFailure("ClassifierLoss: \(type(of: model)) is not a UnaryLayer; pass forward:")
            }
            return layer(inputs)
        }
    }

    /// The loss of `batch`: `softmaxCrossEntropy(logits, labels)`; reports loss and accuracy.
    public func callAsFunction(_ model: Module, _ batch: Batch, _ reporter: Reporter) -> Tensor {
        let logits = forward(model, batch.inputs)
        let loss = softmaxCrossEntropy(logits, batch.labels)
        reporter.report(observer + "/loss", loss)
        reporter.report(observer + "/accuracy", accuracy(logits, batch.labels))
        return loss
    }

    /// This loss as a ``LossFunction`` value.
    public var function: LossFunction { { model, batch, reporter in self(model, batch, reporter) } }
}
