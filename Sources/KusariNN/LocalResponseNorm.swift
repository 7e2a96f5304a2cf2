import Kusari

/// Local response normalisation across channels of NCHW input, PyTorch's semantics:
/// `x / (k + alpha / size · Σ x²)^beta` over a window of `size` channels.
public final class LocalResponseNorm: Module, UnaryLayer {
    /// Number of channels in each normalisation window.
    public let size: Int
    /// Scale of the windowed sum of squares (divided by `size`).
    public let alpha: Float
    /// Exponent.
    public let beta: Float
    /// Additive constant.
    public let k: Float

    /// A window of `size` channels; the other defaults are PyTorch's.
    public init(size: Int, alpha: Float = 1e-4, beta: Float = 0.75, k: Float = 1) {
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k
        super.init()
    }

    /// The layer matching Chainer's `F.local_response_normalization(n, k, alpha, beta)`, whose
    /// `alpha` multiplies the plain sum of squares (so PyTorch's `alpha` is `n` times larger).
    public static func chainer(n: Int = 5, k: Float = 2, alpha: Float = 1e-4, beta: Float = 0.75) -> LocalResponseNorm {
        LocalResponseNorm(size: n, alpha: alpha * Float(n), beta: beta, k: k)
    }

    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        localResponseNorm(x, size: size, alpha: alpha, beta: beta, k: k)
    }
}
