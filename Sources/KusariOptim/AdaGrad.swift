import Kusari

/// AdaGrad (Duchi, Hazan & Singer, 2011):
/// ```
/// d = g + λ·p
/// h ← h + d²
/// p ← p − lr · d / (√h + ε)
/// ```
/// Defaults are Chainer's `AdaGrad`: learning rate 0.001, ε = 1e-8, `h` starting at zero.
/// (PyTorch's `Adagrad` defaults to learning rate 0.01 and ε = 1e-10 and adds an optional
/// learning-rate decay; with the same values the updates are identical.) State buffer: `h`.
public final class AdaGrad: Optimizer {
    /// ε added to `√h` in the denominator.
    public var eps: Float

    /// Creates an AdaGrad optimizer for `parameters`.
    /// - Parameters:
    ///   - learningRate: step size (default 0.001).
    ///   - eps: ε (default 1e-8).
    ///   - weightDecay: L2 coefficient λ (``Optimizer/weightDecay``).
    ///   - gradientClipping: maximum global gradient norm (``Optimizer/gradientClipping``).
    public init(parameters: [(String, Tensor)], learningRate: Float = 0.001, eps: Float = 1e-8,
                weightDecay: Float = 0, gradientClipping: Float? = nil) {
        precondition(eps >= 0, "AdaGrad: eps \(eps) is negative")
        self.eps = eps
        super.init(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay,
                   gradientClipping: gradientClipping)
    }

    /// The sum of squared gradients `h`.
    override public var stateNames: [String] { ["h"] }

    /// Adds `eps`.
    override public var hyperparameters: [(String, Float)] { super.hyperparameters + [("eps", eps)] }

    /// Also sets `eps`.
    override public func setHyperparameter(_ name: String, to value: Float) -> Bool {
        if name == "eps" {
            eps = value
            return true
        }
        return super.setHyperparameter(name, to: value)
    }

    /// `h ← h + d²; p ← p − lr·d/(√h + ε)`.
    override public func update(parameter p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                state: [UnsafeMutablePointer<Float>], range: Range<Int>, context: UpdateContext) {
        let h = state[0]
        let lr = context.learningRate, scale = context.gradientScale, decay = context.weightDecay
        let epsilon = eps
        forEachLane(in: range, vector: { i in
            let pi = p.load4(i)
            let d = scale * g.load4(i) + decay * pi
            let sum = h.load4(i) + d * d
            h.store4(sum, i)
            p.store4(pi - lr * d / (squareRoot(sum) + epsilon), i)
        }, scalar: { i in
            let pi = p[i]
            let d = scale * g[i] + decay * pi
            let sum = h[i] + d * d
            h[i] = sum
            p[i] = pi - lr * d / (sum.squareRoot() + epsilon)
        })
    }
}
