import Kusari

/// 2-d transposed convolution ("deconvolution") over NCHW input (Chainer's
/// `L.Deconvolution2D`, PyTorch's `nn.ConvTranspose2d`).
///
/// Parameters: `W` `[inChannels, outChannels / groups, kh, kw]` (PyTorch's and Chainer's
/// layout; LeCun normal by default) and `b` `[outChannels]` (zeros). The output size may be
/// fixed at creation or passed per call (FCN crops its upsampled scores to the input image).
public final class ConvTranspose2d: Module, UnaryLayer {
    /// Filters `[inChannels, outChannels / groups, kh, kw]`. For ``bilinearUpsampling(channels:factor:depthwise:)``
    /// it does not require gradients, so it is a frozen buffer rather than a parameter.
    public let W: Tensor
    /// Bias `[outChannels]`, `nil` when created without one.
    public let b: Tensor?
    /// Step between applications of the kernel.
    public let stride: IntPair
    /// Zeros added on both sides of each spatial axis (for transposed convolution: removed from the output).
    public let padding: IntPair
    /// Spacing between kernel taps.
    public let dilation: IntPair
    /// Number of independent channel groups.
    public let groups: Int
    /// The `[H, W]` every call produces unless the call passes its own; `nil` for the smallest
    /// size, `(in - 1) · stride - 2 · padding + dilation · (k - 1) + 1`.
    public var outputSize: [Int]?

    /// Input channels.
    public var inChannels: Int { W.shape[0] }
    /// Output channels.
    public var outChannels: Int { W.shape[1] * groups }
    /// Kernel size.
    public var kernelSize: IntPair { IntPair(W.shape[2], W.shape[3]) }

    /// A layer with freshly initialised, trainable filters.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: IntPair, stride: IntPair = 1, padding: IntPair = 0,
                outputSize: [Int]? = nil, dilation: IntPair = 1, groups: Int = 1, bias: Bool = true,
                initializer: Initializer = .lecunNormal, biasInitializer: Initializer = .zeros,
                generator: Generator = .default) {
        precondition(groups > 0 && inChannels % groups == 0 && outChannels % groups == 0,
                     "ConvTranspose2d: channels \(inChannels)→\(outChannels) are not divisible by groups \(groups)")
        self.init(weight: makeParameter([inChannels, outChannels / groups, kernelSize.height, kernelSize.width],
                                        initializer, generator: generator),
                  bias: bias ? makeParameter([outChannels], biasInitializer, generator: generator) : nil,
                  stride: stride, padding: padding, outputSize: outputSize, dilation: dilation, groups: groups)
    }

    /// A layer around given filters and bias (their `requiresGrad` decides whether they train).
    public init(weight: Tensor, bias: Tensor? = nil, stride: IntPair = 1, padding: IntPair = 0,
                outputSize: [Int]? = nil, dilation: IntPair = 1, groups: Int = 1) {
        precondition(weight.rank == 4, "ConvTranspose2d weight must be [Cin, Cout/groups, kh, kw], got \(weight.shape)")
        W = weight
        b = bias
        self.stride = stride
        self.padding = padding
        self.outputSize = outputSize
        self.dilation = dilation
        self.groups = groups
        super.init()
    }

    /// Applies the layer to NCHW `x`, producing ``outputSize`` when it is set.
    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, outputSize: outputSize) }

    /// Applies the layer to NCHW `x`, producing exactly `outputSize` (`[H, W]`) when given.
    public func callAsFunction(_ x: Tensor, outputSize: [Int]?) -> Tensor {
        convTranspose2d(x, W, bias: b, stride: stride.array, padding: padding.array, outputSize: outputSize,
                        dilation: dilation.array, groups: groups)
    }
}

extension ConvTranspose2d {
    /// FCN's fixed bilinear upsampling by an integer `factor`: a transposed convolution with
    /// kernel `2·factor − factor % 2`, stride `factor` and padding `(kernel − factor) / 2`, so an
    /// `h × w` input becomes exactly `factor·h × factor·w` (pass `outputSize` at call time to crop
    /// to an image's size instead), with the bilinear kernel of FCN's `upsample_filt`.
    ///
    /// The filters are **frozen**: `W` does not require gradients, so it is a buffer — saved in
    /// the state dict under `W` like Chainer's disabled-update deconvolution, but not returned
    /// by ``Module/parameters()`` and never touched by optimizers. There is no bias.
    ///
    /// - Parameter depthwise: `true` (default) stores one filter per channel, `W` `[C, 1, k, k]`
    ///   with `groups = C`, `C` times cheaper; `false` stores FCN/Chainer's dense `[C, C, k, k]`
    ///   with the filter on the diagonal (checkpoint-compatible with Chainer FCN models).
    public static func bilinearUpsampling(channels: Int, factor: Int, depthwise: Bool = true) -> ConvTranspose2d {
        precondition(channels > 0 && factor > 0, "bilinearUpsampling needs positive channels and factor")
        let size = 2 * factor - factor % 2
        let filter = bilinearKernel(size: size)
        let outPerGroup = depthwise ? 1 : channels
        var values = [Float](repeating: 0, count: channels * outPerGroup * size * size)
        for channel in 0..<channels {
            let base = (channel * outPerGroup + (depthwise ? 0 : channel)) * size * size
            values.replaceSubrange(base..<(base + size * size), with: filter)
        }
        let weight = Tensor(values, shape: [channels, outPerGroup, size, size])
        return ConvTranspose2d(weight: weight, stride: IntPair(factor), padding: IntPair((size - factor) / 2),
                               groups: depthwise ? channels : 1)
    }

    /// The `size × size` bilinear interpolation kernel of FCN (row-major):
    /// `(1 − |i − c| / f) · (1 − |j − c| / f)` with `f = ⌈size / 2⌉` and centre
    /// `c = f − 1` for odd sizes, `f − 0.5` for even ones.
    public static func bilinearKernel(size: Int) -> [Float] {
        let factor = Float((size + 1) / 2)
        let center = size % 2 == 1 ? factor - 1 : factor - 0.5
        let profile = (0..<size).map { 1 - Swift.abs(Float($0) - center) / factor }
        return profile.flatMap { row in profile.map { row * $0 } }
    }
}
