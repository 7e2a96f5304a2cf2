import Kusari

/// Batch normalisation over the channel axis of `[N, C]` or `[N, C, H, W]` input (Chainer's
/// `L.BatchNormalization`, PyTorch's `nn.BatchNorm1d`/`2d`, chosen by the input's rank).
///
/// Names follow Chainer: parameters `gamma` (ones) and `beta` (zeros), buffers `avgMean` (zeros)
/// and `avgVar` (ones). In training mode it normalises with the batch statistics and updates the
/// running ones, `avg = (1 − momentum) · avg + momentum · batch` with the unbiased batch
/// variance; in evaluation mode it uses the running statistics. Defaults are Chainer's:
/// `eps` 2e-5 and `decay` 0.9, i.e. `momentum` 0.1.
public final class BatchNorm: Module, UnaryLayer {
    /// Scale `[C]`, `nil` without `affine`.
    public let gamma: Tensor?
    /// Shift `[C]`, `nil` without `affine`.
    public let beta: Tensor?
    /// Running mean `[C]` (a buffer), `nil` without `trackRunningStats`.
    public let avgMean: Tensor?
    /// Running unbiased variance `[C]` (a buffer), `nil` without `trackRunningStats`.
    public let avgVar: Tensor?
    /// Number of channels.
    public let size: Int
    /// Added to the variance for numerical stability.
    public let eps: Float
    /// Weight of the new batch in the running statistics (Chainer's `1 − decay`).
    public let momentum: Float

    /// - Parameters:
    ///   - affine: learn `gamma` and `beta`.
    ///   - trackRunningStats: keep running statistics; without them the layer always uses batch
    ///     statistics, also in evaluation mode.
    public init(_ size: Int, eps: Float = 2e-5, momentum: Float = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true) {
        self.size = size
        self.eps = eps
        self.momentum = momentum
        gamma = affine ? Tensor.ones([size]).requiringGrad() : nil
        beta = affine ? Tensor.zeros([size]).requiringGrad() : nil
        avgMean = trackRunningStats ? Tensor.zeros([size]) : nil
        avgVar = trackRunningStats ? Tensor.ones([size]) : nil
        super.init()
    }

    /// Chainer-style creation with `decay` (the running statistics keep `decay` of their value).
    public convenience init(_ size: Int, decay: Float, eps: Float = 2e-5) {
        self.init(size, eps: eps, momentum: 1 - decay)
    }

    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        batchNorm(x, weight: gamma, bias: beta, runningMean: avgMean, runningVar: avgVar,
                  training: isTraining || avgMean == nil, momentum: momentum, eps: eps)
    }
}
