import Kusari

/// Plain stochastic gradient descent: `p ← p − lr · (g + λ·p)`.
///
/// The default learning rate, 0.01, is Chainer's `optimizers.SGD` default. It keeps no state
/// besides the update counts.
public final class SGD: Optimizer {
    /// Creates an SGD optimizer for `parameters`.
    /// - Parameters:
    ///   - learningRate: step size (default 0.01).
    ///   - weightDecay: L2 coefficient λ (``Optimizer/weightDecay``).
    ///   - gradientClipping: maximum global gradient norm (``Optimizer/gradientClipping``).
    override public init(parameters: [(String, Tensor)], learningRate: Float = 0.01, weightDecay: Float = 0,
                         gradientClipping: Float? = nil) {
        super.init(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay,
                   gradientClipping: gradientClipping)
    }

    /// `p ← p − lr · (s·g + λ·p)`.
    override public func update(parameter p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                state: [UnsafeMutablePointer<Float>], range: Range<Int>, context: UpdateContext) {
        let lr = context.learningRate, scale = context.gradientScale, decay = context.weightDecay
        for i in range {
            p[i] -= lr * (scale * g[i] + decay * p[i])
        }
    }

    /// The same update for a parameter on a GPU: one fused kernel where the backend has one
    /// (``Kusari/FusedOptimizerOperations``), otherwise tensor ops, operation for operation.
    override public func update(parameter p: Tensor, gradient g: Tensor, state: [Tensor], context: UpdateContext) {
        let lr = context.learningRate, scale = context.gradientScale, decay = context.weightDecay
        if updateFused(.sgd(learningRate: lr, scale: scale, decay: decay), parameter: p, gradient: g, state: state) {
            return
        }
        p.assign(p - lr * (scale * g + decay * p))
    }
}
