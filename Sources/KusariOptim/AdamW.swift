import Kusari

/// Adam with decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
/// Regularization"), in PyTorch's and MLX's formulation: before each Adam step the parameters
/// shrink by `p ← p − lr·λ·p`, and λ never enters the moment estimates:
/// ```
/// p ← p − α·λ·p
/// m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²
/// p ← p − α · m̂ / (√v̂ + ε)
/// ```
/// Otherwise identical to ``Adam`` (same defaults, bias correction, state buffers `m` and `v`).
/// Here ``Optimizer/weightDecay`` is the decoupled λ, default 0.01 (PyTorch's `AdamW` default).
/// Because the decay is multiplied by the learning rate, a learning-rate schedule scales it too.
/// Chainer expresses the same method as `Adam(weight_decay_rate=r)`, whose decay is not
/// multiplied by α: Chainer's rate r corresponds to λ = r / α here.
public final class AdamW: AdaptiveMomentOptimizer {
    /// Creates an AdamW optimizer for `parameters`.
    /// - Parameters:
    ///   - learningRate: α (default 0.001).
    ///   - beta1: β₁ in `[0, 1)` (default 0.9).
    ///   - beta2: β₂ in `[0, 1)` (default 0.999).
    ///   - eps: ε (default 1e-8).
    ///   - weightDecay: decoupled decay λ (default 0.01).
    ///   - gradientClipping: maximum global gradient norm (``Optimizer/gradientClipping``).
    public init(parameters: [(String, Tensor)], learningRate: Float = 0.001, beta1: Float = 0.9,
                beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01, gradientClipping: Float? = nil) {
        super.init(parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps,
                   weightDecay: weightDecay, decoupledWeightDecay: true, gradientClipping: gradientClipping)
    }
}
