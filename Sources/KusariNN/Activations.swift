import Kusari

/// `max(x, 0)`.
public final class ReLU: Module, UnaryLayer {
    /// Creates the layer.
    public override init() { super.init() }
    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { relu(x) }
}

/// `x` for positive inputs, `slope · x` otherwise.
public final class LeakyReLU: Module, UnaryLayer {
    /// Multiplier of negative inputs.
    public let slope: Float
    /// - Parameter slope: PyTorch's default 0.01 (Chainer's `leaky_relu` uses 0.2).
    public init(slope: Float = 0.01) {
        self.slope = slope
        super.init()
    }
    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { leakyRelu(x, slope: slope) }
}

/// `x` for positive inputs, `alpha · (eˣ − 1)` otherwise.
public final class ELU: Module, UnaryLayer {
    /// Scale of the negative saturation.
    public let alpha: Float
    /// PyTorch's and Chainer's default `alpha` 1.
    public init(alpha: Float = 1) {
        self.alpha = alpha
        super.init()
    }
    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { elu(x, alpha: alpha) }
}

/// Hyperbolic tangent.
public final class Tanh: Module, UnaryLayer {
    /// Creates the layer.
    public override init() { super.init() }
    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.tanh() }
}

/// Logistic sigmoid `1 / (1 + e⁻ˣ)`.
public final class Sigmoid: Module, UnaryLayer {
    /// Creates the layer.
    public override init() { super.init() }
    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.sigmoid() }
}

/// Softmax along `axis` (default 1, the class axis of `[N, C]` and `[N, C, H, W]`, as in
/// Chainer's `F.softmax`).
public final class Softmax: Module, UnaryLayer {
    /// The axis normalised over.
    public let axis: Int
    /// Normalises along `axis`.
    public init(axis: Int = 1) {
        self.axis = axis
        super.init()
    }
    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { softmax(x, axis: axis) }
}

/// Log-softmax along `axis` (default 1, the class axis).
public final class LogSoftmax: Module, UnaryLayer {
    /// The axis normalised over.
    public let axis: Int
    /// Normalises along `axis`.
    public init(axis: Int = 1) {
        self.axis = axis
        super.init()
    }
    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { logSoftmax(x, axis: axis) }
}
