import Kusari

/// 2-d convolution over NCHW input (Chainer's `L.Convolution2D`, PyTorch's `nn.Conv2d`).
///
/// Parameters: `W` `[outChannels, inChannels / groups, kh, kw]` (LeCun normal by default, like
/// Chainer) and `b` `[outChannels]` (zeros).
public final class Conv2d: Module, UnaryLayer {
    /// Filters `[outChannels, inChannels / groups, kh, kw]`.
    public let W: Tensor
    /// Bias `[outChannels]`, `nil` when created with `bias: false`.
    public let b: Tensor?
    /// Step between applications of the kernel.
    public let stride: IntPair
    /// Zeros added on both sides of each spatial axis (for transposed convolution: removed from the output).
    public let padding: IntPair
    /// Spacing between kernel taps.
    public let dilation: IntPair
    /// Number of independent channel groups.
    public let groups: Int

    /// Input channels.
    public var inChannels: Int { W.shape[1] * groups }
    /// Output channels.
    public var outChannels: Int { W.shape[0] }
    /// Kernel size.
    public var kernelSize: IntPair { IntPair(W.shape[2], W.shape[3]) }

    /// - Parameters:
    ///   - padding: zeros added on both sides of each spatial axis (`kernelSize / 2` keeps the
    ///     size for odd kernels at stride 1).
    ///   - groups: splits channels into independent groups (`inChannels` for depthwise).
    ///   - initializer: fills `W`; `biasInitializer` fills `b`.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: IntPair, stride: IntPair = 1, padding: IntPair = 0,
                dilation: IntPair = 1, groups: Int = 1, bias: Bool = true, initializer: Initializer = .lecunNormal,
                biasInitializer: Initializer = .zeros, generator: Generator = .default) {
        precondition(groups > 0 && inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: channels \(inChannels)→\(outChannels) are not divisible by groups \(groups)")
        W = makeParameter([outChannels, inChannels / groups, kernelSize.height, kernelSize.width], initializer,
                          generator: generator)
        b = bias ? makeParameter([outChannels], biasInitializer, generator: generator) : nil
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        super.init()
    }

    /// Convolves NCHW `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, W, bias: b, stride: stride.array, padding: padding.array, dilation: dilation.array, groups: groups)
    }
}
