import Foundation
import Kusari

/// Adam (Kingma & Ba, 2015) with bias correction, as in Algorithm 1 of the paper and PyTorch:
/// ```
/// d = g + λ·p                          (λ = weightDecay; AdamW decouples it instead)
/// m ← β₁·m + (1 − β₁)·d
/// v ← β₂·v + (1 − β₂)·d²
/// p ← p − α · m̂ / (√v̂ + ε)          m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
/// ```
/// where `t` counts the updates of that parameter (parameters that had no gradient for a while
/// start their bias correction at their own first update, as in Chainer and PyTorch).
///
/// Defaults are Chainer's (and PyTorch's): α = ``Optimizer/learningRate`` = 0.001, β₁ = 0.9,
/// β₂ = 0.999, ε = 1e-8. Chainer (and TensorFlow) fold both corrections into the step size,
/// `α·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)`, which places ε slightly differently; the two agree to
/// within a relative `ε/√v`. State buffers: `m` and `v`.
public final class Adam: AdaptiveMomentOptimizer {
    /// Creates an Adam optimizer for `parameters`.
    /// - Parameters:
    ///   - learningRate: α (default 0.001).
    ///   - beta1: β₁ in `[0, 1)` (default 0.9).
    ///   - beta2: β₂ in `[0, 1)` (default 0.999).
    ///   - eps: ε (default 1e-8).
    ///   - weightDecay: L2 coefficient λ added to the gradient (``Optimizer/weightDecay``); it is
    ///     then rescaled by the adaptive denominator like the rest of the gradient — use ``AdamW``
    ///     for decoupled weight decay.
    ///   - gradientClipping: maximum global gradient norm (``Optimizer/gradientClipping``).
    public init(parameters: [(String, Tensor)], learningRate: Float = 0.001, beta1: Float = 0.9,
                beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0, gradientClipping: Float? = nil) {
        super.init(parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps,
                   weightDecay: weightDecay, decoupledWeightDecay: false, gradientClipping: gradientClipping)
    }
}

/// What ``Adam`` and ``AdamW`` share: the β₁/β₂/ε hyper-parameters, the moment buffers `m` and
/// `v`, and the fused bias-corrected update; they differ only in how weight decay enters.
public class AdaptiveMomentOptimizer: Optimizer {
    /// Decay rate β₁ of the first-moment (mean) estimate.
    public var beta1: Float
    /// Decay rate β₂ of the second-moment (uncentred variance) estimate.
    public var beta2: Float
    /// ε added to `√v̂` in the denominator.
    public var eps: Float
    /// Whether weight decay shrinks the parameters directly (AdamW) instead of joining the gradient.
    let decoupledWeightDecay: Bool

    init(parameters: [(String, Tensor)], learningRate: Float, beta1: Float, beta2: Float, eps: Float,
         weightDecay: Float, decoupledWeightDecay: Bool, gradientClipping: Float?) {
        AdamKernel.validate(beta1: beta1, beta2: beta2, eps: eps)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.decoupledWeightDecay = decoupledWeightDecay
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

    /// The bias-corrected Adam update of `p[range]`, with L2 or decoupled weight decay.
    override public func update(parameter p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                state: [UnsafeMutablePointer<Float>], range: Range<Int>, context: UpdateContext) {
        AdamKernel(beta1: beta1, beta2: beta2, eps: eps, context: context, decoupled: decoupledWeightDecay)
            .run(p, g, m: state[0], v: state[1], range)
    }

    /// The same update for a parameter on a GPU: one fused kernel where the backend has one
    /// (``Kusari/FusedOptimizerOperations``), otherwise tensor ops, operation for operation.
    override public func update(parameter p: Tensor, gradient g: Tensor, state: [Tensor], context: UpdateContext) {
        let kernel = AdamKernel(beta1: beta1, beta2: beta2, eps: eps, context: context, decoupled: decoupledWeightDecay)
        if updateFused(kernel.fusedRule, parameter: p, gradient: g, state: state) { return }
        kernel.run(p, g, m: state[0], v: state[1])
    }
}

/// The fused element loop shared by ``Adam`` and ``AdamW``.
struct AdamKernel {
    let beta1: Float, beta2: Float, eps: Float
    /// Multiplies the gradient (clipping).
    let scale: Float
    /// Coefficient of the L2 term added to the gradient (0 for AdamW).
    let decay: Float
    /// Factor the parameter is multiplied by first: `1 − lr·λ` for AdamW, 1 for Adam.
    let shrink: Float
    /// α / (1 − β₁ᵗ).
    let stepSize: Float
    /// 1 / √(1 − β₂ᵗ).
    let inverseRootCorrection2: Float

    static func validate(beta1: Float, beta2: Float, eps: Float) {
        precondition(beta1 >= 0 && beta1 < 1, "Adam: beta1 \(beta1) is not in [0, 1)")
        precondition(beta2 >= 0 && beta2 < 1, "Adam: beta2 \(beta2) is not in [0, 1)")
        precondition(eps >= 0, "Adam: eps \(eps) is negative")
    }

    init(beta1: Float, beta2: Float, eps: Float, context: UpdateContext, decoupled: Bool) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        scale = context.gradientScale
        decay = decoupled ? 0 : context.weightDecay
        shrink = decoupled ? 1 - context.learningRate * context.weightDecay : 1
        let t = Double(context.step)
        let correction1 = 1 - Foundation.pow(Double(beta1), t)
        let correction2 = 1 - Foundation.pow(Double(beta2), t)
        stepSize = Float(Double(context.learningRate) / correction1)
        inverseRootCorrection2 = Float(1 / correction2.squareRoot())
    }

    /// Updates `p`, `m` and `v` over `range`: PyTorch's arrangement of the bias-corrected step,
    /// `p ← shrink·p − (α/c₁) · m / (√v · (1/√c₂) + ε)`.
    @inline(__always)
    func run(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
             v: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        let b1 = beta1, b2 = beta2, epsilon = eps, scale = scale, decay = decay, shrink = shrink
        let stepSize = stepSize, inverseRootCorrection2 = inverseRootCorrection2
        let oneMinusB1 = 1 - b1, oneMinusB2 = 1 - b2
        forEachLane(in: range, vector: { i in
            let pi = p.load4(i)
            let d = scale * g.load4(i) + decay * pi
            let mi = b1 * m.load4(i) + oneMinusB1 * d
            let vi = b2 * v.load4(i) + oneMinusB2 * (d * d)
            m.store4(mi, i)
            v.store4(vi, i)
            p.store4(pi * shrink - stepSize * mi / (squareRoot(vi) * inverseRootCorrection2 + epsilon), i)
        }, scalar: { i in
            let pi = p[i]
            let d = scale * g[i] + decay * pi
            let mi = b1 * m[i] + oneMinusB1 * d
            let vi = b2 * v[i] + oneMinusB2 * (d * d)
            m[i] = mi
            v[i] = vi
            p[i] = pi * shrink - stepSize * mi / (vi.squareRoot() * inverseRootCorrection2 + epsilon)
        })
    }

    /// This step's update as a backend's fused kernel takes it.
    var fusedRule: FusedOptimizerRule {
        .adam(scale: scale, decay: decay, shrink: shrink, beta1: beta1, beta2: beta2, stepSize: stepSize,
              inverseRootCorrection2: inverseRootCorrection2, eps: eps)
    }

    /// The same update of whole tensors with tensor ops (for a GPU), operation for operation;
    /// the results are written back with `assign`.
    func run(_ p: Tensor, _ g: Tensor, m: Tensor, v: Tensor) {
        let d = scale * g + decay * p
        let mi = beta1 * m + (1 - beta1) * d
        let vi = beta2 * v + (1 - beta2) * (d * d)
        m.assign(mi)
        v.assign(vi)
        p.assign(p * shrink - stepSize * mi / (vi.sqrt() * inverseRootCorrection2 + eps))
    }
}
