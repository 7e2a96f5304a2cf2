import Kusari

/// Max pooling over NCHW input. Windows may overlap (`stride` smaller than `kernelSize`);
/// `ceilMode` keeps a last partial window (Chainer's `cover_all`, default `true` there,
/// `false` here as in PyTorch).
public final class MaxPool2d: Module, UnaryLayer {
    /// Window size.
    public let kernelSize: IntPair
    /// Step between windows (the kernel size unless given).
    public let stride: IntPair
    /// Zeros added on both sides of each spatial axis (for transposed convolution: removed from the output).
    public let padding: IntPair
    /// Whether a last partial window is kept.
    public let ceilMode: Bool

    /// Windows of `kernelSize` every `stride` (default: non-overlapping).
    public init(kernelSize: IntPair, stride: IntPair? = nil, padding: IntPair = 0, ceilMode: Bool = false) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.ceilMode = ceilMode
        super.init()
    }

    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        maxPool2d(x, kernelSize: kernelSize.array, stride: stride.array, padding: padding.array, ceilMode: ceilMode)
    }
}

/// Average pooling over NCHW input; with `countIncludePad` the zero padding counts in the
/// divisor (PyTorch's default).
public final class AvgPool2d: Module, UnaryLayer {
    /// Window size.
    public let kernelSize: IntPair
    /// Step between windows (the kernel size unless given).
    public let stride: IntPair
    /// Zeros added on both sides of each spatial axis (for transposed convolution: removed from the output).
    public let padding: IntPair
    /// Whether a last partial window is kept.
    public let ceilMode: Bool
    /// Whether zero padding counts in the divisor.
    public let countIncludePad: Bool

    /// Windows of `kernelSize` every `stride` (default: non-overlapping).
    public init(kernelSize: IntPair, stride: IntPair? = nil, padding: IntPair = 0, ceilMode: Bool = false,
                countIncludePad: Bool = true) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
        super.init()
    }

    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        avgPool2d(x, kernelSize: kernelSize.array, stride: stride.array, padding: padding.array, ceilMode: ceilMode,
                  countIncludePad: countIncludePad)
    }
}

/// Mean over the spatial axes: NCHW → `[N, C]`.
public final class GlobalAvgPool2d: Module, UnaryLayer {
    /// Creates the layer.
    public override init() { super.init() }
    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { globalAvgPool2d(x) }
}

/// Maximum over the spatial axes: NCHW → `[N, C]`.
public final class GlobalMaxPool2d: Module, UnaryLayer {
    /// Creates the layer.
    public override init() { super.init() }
    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { globalMaxPool2d(x) }
}
