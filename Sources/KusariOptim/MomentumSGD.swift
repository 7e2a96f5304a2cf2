import Kusari

/// Stochastic gradient descent with (optionally Nesterov) momentum, in PyTorch's formulation:
/// ```
/// d = g + λ·p
/// v ← μ·v + d                          (v starts at 0, so v₁ = d₁)
/// p ← p − lr · v                       (classical momentum)
/// p ← p − lr · (d + μ·v)               (Nesterov)
/// ```
/// Chainer's `MomentumSGD` writes the same method as `v ← μ·v − lr·d; p ← p + v`. Its velocity
/// is `−lr` times this one, so both give identical parameters while the learning rate is
/// constant; when the learning rate changes, this formulation applies the new rate to the whole
/// accumulated velocity at once, whereas Chainer's lets the old rate decay out over a few steps.
///
/// Defaults follow Chainer: learning rate 0.01, momentum 0.9. State buffer: `v`.
public final class MomentumSGD: Optimizer {
    /// Momentum coefficient μ.
    public var momentum: Float
    /// Whether to use Nesterov's accelerated gradient (`d + μ·v` as the step direction).
    public var nesterov: Bool

    /// Creates a momentum SGD optimizer for `parameters`.
    /// - Parameters:
    ///   - learningRate: step size (default 0.01).
    ///   - momentum: μ (default 0.9); must be in `[0, 1)`, and positive with Nesterov.
    ///   - nesterov: use Nesterov momentum (default `false`).
    ///   - weightDecay: L2 coefficient λ (``Optimizer/weightDecay``).
    ///   - gradientClipping: maximum global gradient norm (``Optimizer/gradientClipping``).
    public init(parameters: [(String, Tensor)], learningRate: Float = 0.01, momentum: Float = 0.9,
                nesterov: Bool = false, weightDecay: Float = 0, gradientClipping: Float? = nil) {
        precondition(momentum >= 0 && momentum < 1, "MomentumSGD: momentum \(momentum) is not in [0, 1)")
        precondition(!nesterov || momentum > 0, "MomentumSGD: Nesterov momentum needs momentum > 0")
        self.momentum = momentum
        self.nesterov = nesterov
        super.init(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay,
                   gradientClipping: gradientClipping)
    }

    /// The velocity `v`.
    override public var stateNames: [String] { ["v"] }

    /// Adds `momentum` and `nesterov` (0 or 1).
    override public var hyperparameters: [(String, Float)] {
        super.hyperparameters + [("momentum", momentum), ("nesterov", nesterov ? 1 : 0)]
    }

    /// Also sets `momentum` and `nesterov` (non-zero meaning `true`).
    override public func setHyperparameter(_ name: String, to value: Float) -> Bool {
        switch name {
        case "momentum": momentum = value
        case "nesterov": nesterov = value != 0
        default: return super.setHyperparameter(name, to: value)
        }
        return true
    }

    /// `v ← μ·v + d; p ← p − lr·v` (or `p ← p − lr·(d + μ·v)` with Nesterov).
    override public func update(parameter p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                state: [UnsafeMutablePointer<Float>], range: Range<Int>, context: UpdateContext) {
        let v = state[0]
        let lr = context.learningRate, scale = context.gradientScale, decay = context.weightDecay
        let mu = momentum
        if nesterov {
            for i in range {
                let d = scale * g[i] + decay * p[i]
                let velocity = mu * v[i] + d
                v[i] = velocity
                p[i] -= lr * (d + mu * velocity)
            }
        } else {
            for i in range {
                let velocity = mu * v[i] + (scale * g[i] + decay * p[i])
                v[i] = velocity
                p[i] -= lr * velocity
            }
        }
    }

    /// The same update for a parameter on a GPU: one fused kernel where the backend has one
    /// (``Kusari/FusedOptimizerOperations``), otherwise tensor ops, operation for operation.
    override public func update(parameter p: Tensor, gradient g: Tensor, state: [Tensor], context: UpdateContext) {
        let lr = context.learningRate, scale = context.gradientScale, decay = context.weightDecay
        let mu = momentum
        let rule = FusedOptimizerRule.momentum(learningRate: lr, scale: scale, decay: decay, momentum: mu,
                                               nesterov: nesterov)
        if updateFused(rule, parameter: p, gradient: g, state: state) { return }
        let v = state[0]
        let d = scale * g + decay * p
        let velocity = mu * v + d
        v.assign(velocity)
        p.assign(nesterov ? p - lr * (d + mu * velocity) : p - lr * velocity)
    }
}
