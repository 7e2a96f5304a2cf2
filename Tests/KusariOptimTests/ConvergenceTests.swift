import Kusari
import KusariOptim
import Testing

/// Every optimizer minimises a small least-squares problem built from Kusari ops and autodiff:
/// `loss = mean((x·w + b − y)²)` with an exact solution `w* = (1.5, −2, 0.5)`, `b* = 0.25`.
struct ConvergenceTests {
    static let x: [Float] = [
        1.0, 0.5, -0.3,
        -0.7, 1.2, 0.4,
        0.3, -0.9, 1.1,
        1.4, 0.2, 0.8,
        -1.1, -0.4, 0.6,
        0.6, 1.5, -1.2,
        -0.2, 0.7, 0.9,
        0.9, -1.3, -0.5,
    ]
    static let trueWeights: [Float] = [1.5, -2, 0.5]
    static let trueBias: Float = 0.25

    /// Settings that converge in a few hundred steps; the adaptive methods also decay the
    /// learning rate (exercising ``Optimizer/learningRate`` as a schedule), since with a constant
    /// rate they hover around the minimum at a distance set by the rate.
    static func configuration(_ kind: OptimizerKind) -> (learningRate: Float, decay: Float, steps: Int) {
        switch kind {
        case .sgd: return (0.3, 1, 400)
        case .momentum, .nesterov: return (0.05, 1, 300)
        case .adam, .adamW: return (0.05, 0.99, 600)
        case .rmsprop: return (0.02, 0.995, 1000)
        case .adaGrad: return (0.5, 1, 600)
        }
    }

    @Test(arguments: OptimizerKind.allCases)
    func leastSquaresConverges(kind: OptimizerKind) {
        let inputs = Tensor(Self.x, shape: [8, 3])
        let targets = Tensor((0..<8).map { row in
            (0..<3).reduce(Self.trueBias) { $0 + Self.x[row * 3 + $1] * Self.trueWeights[$1] }
        })
        let w = parameter([0, 0, 0]), b = parameter([0])
        let (learningRate, decay, steps) = Self.configuration(kind)
        // AdamW keeps a (tiny, decoupled) weight decay; the others train the plain loss.
        let optimizer = kind.make([("w", w), ("b", b)], learningRate: learningRate,
                                  weightDecay: kind == .adamW ? 1e-3 : 0)
        func loss() -> Tensor { ((inputs * w).sum(axis: 1) + b - targets).square().mean() }
        let initialLoss = withNoGrad { loss().item() }
        for _ in 0..<steps {
            optimizer.zeroGrad()
            loss().backward()
            optimizer.step()
            optimizer.learningRate *= decay
        }
        let finalLoss = withNoGrad { loss().item() }
        #expect(initialLoss > 1)
        #expect(finalLoss < 1e-4 * initialLoss, "loss \(initialLoss) → \(finalLoss)")
        expectClose(w.scalars, Self.trueWeights.map(Double.init), absolute: 1e-3, relative: 0)
        expectClose(b.scalars, [Double(Self.trueBias)], absolute: 1e-3, relative: 0)
    }
}
