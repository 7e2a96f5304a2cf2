import Kusari

/// Inverted dropout: in training mode zeroes each element with probability `rate` and scales
/// the rest by `1 / (1 − rate)`; the identity in evaluation mode.
public final class Dropout: Module, UnaryLayer {
    /// Probability of dropping an element.
    public let rate: Float
    /// The random stream masks are drawn from.
    public let generator: Generator

    /// Chainer's default rate is 0.5.
    public init(_ rate: Float = 0.5, generator: Generator = .default) {
        precondition(rate >= 0 && rate < 1, "Dropout rate must be in [0, 1), got \(rate)")
        self.rate = rate
        self.generator = generator
        super.init()
    }

    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        dropout(x, rate: rate, training: isTraining, generator: generator)
    }
}
