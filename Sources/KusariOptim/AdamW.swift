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
public final class AdamW: Optimizer {
    /// Decay rate β₁ of the first-moment (mean) estimate.
    public var beta1: Float
    /// Decay rate β₂ of the second-moment (uncentred variance) estimate.
    public var beta2: Float
    /// ε added to `√v̂` in the denominator.
    public var eps: Float

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
        AdamKernel.validate(beta1: beta1, beta2: beta2, eps: eps)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        super.init(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay,
                   gradientClipping: gradientClipping)
    }

    /// The moment estimates `m` and `v`.
    override public var stateNames: [String] { ["m", "v"] }

    /// Adds `beta1`, `beta2` and `eps`.
    override public var hyperparameters: [(String, Float)] {
        super.hyperparameters + [("beta1", beta1), ("beta2", beta2), ("eps", eps)]
    }

    /// Also sets `beta1`, `beta2` and `eps`.
    override public func setHyperparameter(_ name: String, to value: Float) -> Bool {
        switch name {
        case "beta1": beta1 = value
        case "beta2": beta2 = value
        case "eps": eps = value
        default: return super.setHyperparameter(name, to: value)
        }
        return true
    }

    /// The bias-corrected Adam update of `p[range]` after shrinking it by `1 − lr·λ`.
    override public func update(parameter p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                state: [UnsafeMutablePointer<Float>], range: Range<Int>, context: UpdateContext) {
        AdamKernel(beta1: beta1, beta2: beta2, eps: eps, context: context, decoupled: true)
            .run(p, g, m: state[0], v: state[1], range)
    }
}
