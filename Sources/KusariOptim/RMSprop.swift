import Kusari

/// RMSprop (Tieleman & Hinton, 2012):
/// ```
/// d = g + λ·p
/// ms ← α·ms + (1 − α)·d²
/// p  ← p − lr · d / (√ms + ε)
/// ```
/// Defaults: learning rate 0.01, α = 0.99, ε = 1e-8 — the same in Chainer's `RMSprop` and
/// PyTorch's `RMSprop` (both add ε outside the square root, as here; Chainer's optional
/// `eps_inside_sqrt` and TensorFlow's RMSProp, which uses decay 0.9 and ε inside the root, differ).
/// No centring or momentum. State buffer: `ms`.
public final class RMSprop: Optimizer {
    /// Decay rate α of the running mean of squared gradients.
    public var alpha: Float
    /// ε added to `√ms` in the denominator.
    public var eps: Float

    /// Creates an RMSprop optimizer for `parameters`.
    /// - Parameters:
    ///   - learningRate: step size (default 0.01).
    ///   - alpha: α in `[0, 1)` (default 0.99).
    ///   - eps: ε (default 1e-8).
    ///   - weightDecay: L2 coefficient λ (``Optimizer/weightDecay``).
    ///   - gradientClipping: maximum global gradient norm (``Optimizer/gradientClipping``).
    public init(parameters: [(String, Tensor)], learningRate: Float = 0.01, alpha: Float = 0.99, eps: Float = 1e-8,
                weightDecay: Float = 0, gradientClipping: Float? = nil) {
        precondition(alpha >= 0 && alpha < 1, "RMSprop: alpha \(alpha) is not in [0, 1)")
        precondition(eps >= 0, "RMSprop: eps \(eps) is negative")
        self.alpha = alpha
        self.eps = eps
        super.init(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay,
                   gradientClipping: gradientClipping)
    }

    /// The running mean of squared gradients `ms`.
    override public var stateNames: [String] { ["ms"] }

    /// Adds `alpha` and `eps`.
    override public var hyperparameters: [(String, Float)] {
        super.hyperparameters + [("alpha", alpha), ("eps", eps)]
    }

    /// Also sets `alpha` and `eps`.
    override public func setHyperparameter(_ name: String, to value: Float) -> Bool {
        switch name {
        case "alpha": alpha = value
        case "eps": eps = value
        default: return super.setHyperparameter(name, to: value)
        }
        return true
    }

    /// `ms ← α·ms + (1 − α)·d²; p ← p − lr·d/(√ms + ε)`.
    override public func update(parameter p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                state: [UnsafeMutablePointer<Float>], range: Range<Int>, context: UpdateContext) {
        let ms = state[0]
        let lr = context.learningRate, scale = context.gradientScale, decay = context.weightDecay
        let a = alpha, oneMinusA = 1 - alpha, epsilon = eps
        forEachLane(in: range, vector: { i in
            let pi = p.load4(i)
            let d = scale * g.load4(i) + decay * pi
            let mean = a * ms.load4(i) + oneMinusA * (d * d)
            ms.store4(mean, i)
            p.store4(pi - lr * d / (squareRoot(mean) + epsilon), i)
        }, scalar: { i in
            let pi = p[i]
            let d = scale * g[i] + decay * pi
            let mean = a * ms[i] + oneMinusA * (d * d)
            ms[i] = mean
            p[i] = pi - lr * d / (mean.squareRoot() + epsilon)
        })
    }
}
