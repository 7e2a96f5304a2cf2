import Kusari

/// Fully connected layer `y = x Wᵀ + b` over the last axis (Chainer's `L.Linear`).
///
/// Parameters: `W` `[outputSize, inputSize]` (LeCun normal by default, like Chainer) and `b`
/// `[outputSize]` (zeros).
public final class Linear: Module, UnaryLayer {
    /// Weight `[outputSize, inputSize]`.
    public let W: Tensor
    /// Bias `[outputSize]`, `nil` when created with `bias: false`.
    public let b: Tensor?

    /// Size of the last input axis.
    public var inputSize: Int { W.shape[1] }
    /// Size of the last output axis.
    public var outputSize: Int { W.shape[0] }

    /// - Parameters:
    ///   - bias: whether to add a learned bias.
    ///   - initializer: fills `W`; `biasInitializer` fills `b`.
    ///   - generator: the random stream the initializers draw from.
    public init(_ inputSize: Int, _ outputSize: Int, bias: Bool = true, initializer: Initializer = .lecunNormal,
                biasInitializer: Initializer = .zeros, generator: Generator = .default) {
        W = makeParameter([outputSize, inputSize], initializer, generator: generator)
        b = bias ? makeParameter([outputSize], biasInitializer, generator: generator) : nil
        super.init()
    }

    /// Applies the layer to `x` of shape `[..., inputSize]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, W, bias: b) }
}
