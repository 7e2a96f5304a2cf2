import Kusari

/// The recurrent convolutional layer RCL(T, K) of Liang & Hu (CVPR 2015), as the SVHN seed
/// implements it in Chainer:
/// ```
/// ff = convFF(x); rf = ff
/// repeat T − 1 times: rf = convR(rf) + ff
/// return relu(rf)
/// ```
/// Both convolutions map K → K channels with a `kernelSize` kernel, stride 1, "same" padding
/// and a bias. The feed-forward response is computed once and reused (the seed recomputes the
/// same value each step). Children `convR` and `convFF` are the seed's `conv_r` and `conv_ff`.
public final class RCL: Module, UnaryLayer {
    /// The recurrent convolution, applied T − 1 times.
    public let convR: Conv2d
    /// The feed-forward convolution of the input.
    public let convFF: Conv2d
    /// Number of unrolled steps T (T = 1 is a plain conv → ReLU).
    public let steps: Int

    /// - Parameters:
    ///   - steps: T, the number of unrolled steps.
    ///   - channels: K, input and output channels.
    public init(steps: Int, channels: Int, kernelSize: Int = 3, initializer: Initializer = .lecunNormal,
                generator: Generator = .default) {
        precondition(steps >= 1, "RCL needs at least one step")
        precondition(kernelSize % 2 == 1, "RCL keeps the spatial size, so its kernel must be odd")
        let padding = IntPair(kernelSize / 2)
        convR = Conv2d(channels, channels, kernelSize: IntPair(kernelSize), padding: padding,
                       initializer: initializer, generator: generator)
        convFF = Conv2d(channels, channels, kernelSize: IntPair(kernelSize), padding: padding,
                        initializer: initializer, generator: generator)
        self.steps = steps
        super.init()
    }

    /// `RCL(T, K)` as the seed writes it.
    public convenience init(_ steps: Int, _ channels: Int, kernelSize: Int = 3, generator: Generator = .default) {
        self.init(steps: steps, channels: channels, kernelSize: kernelSize, generator: generator)
    }

    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let ff = convFF(x)
        var rf = ff
        for _ in 1..<steps { rf = convR(rf) + ff }
        return relu(rf)
    }
}
