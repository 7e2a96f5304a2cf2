import Kusari
import KusariOptim
import Testing

/// A float parameter (leaf requiring gradients) holding `values`.
func parameter(_ values: [Float], shape: [Int]? = nil) -> Tensor {
    Tensor(values, shape: shape ?? [values.count]).requiringGrad()
}

/// Sets `tensor.grad` to a fresh tensor holding `values`.
func setGradient(_ tensor: Tensor, _ values: [Float]) {
    tensor.grad = Tensor(values, shape: tensor.shape)
}

/// Expects `actual` to equal `expected` element-wise within `absolute + relative·|expected|`.
func expectClose(_ actual: [Float], _ expected: [Double], absolute: Double = 1e-6, relative: Double = 1e-5,
                 _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, comment, sourceLocation: sourceLocation)
    for (index, (a, e)) in zip(actual, expected).enumerated() {
        let tolerance = absolute + relative * Swift.abs(e)
        #expect(Swift.abs(Double(a) - e) <= tolerance,
                "element \(index): got \(a), expected \(e)\(comment.map { " — \($0)" } ?? "")",
                sourceLocation: sourceLocation)
    }
}

/// Deterministic values in [-1, 1) from a small LCG.
func lcgValues(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float((state >> 40) & 0xFFFFFF) / Float(1 << 23) - 1
    }
}

/// The optimizers under test, for parameterised tests.
enum OptimizerKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sgd, momentum, nesterov, adam, adamW, rmsprop, adaGrad

    var testDescription: String { rawValue }

    /// An optimizer of this kind with non-default hyper-parameters (so that a state-dict round
    /// trip has something to restore) and the given learning rate and weight decay.
    func make(_ parameters: [(String, Tensor)], learningRate: Float, weightDecay: Float = 0,
              gradientClipping: Float? = nil) -> Optimizer {
        switch self {
        case .sgd:
            return SGD(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay,
                       gradientClipping: gradientClipping)
        case .momentum:
            return MomentumSGD(parameters: parameters, learningRate: learningRate, momentum: 0.8,
                               weightDecay: weightDecay, gradientClipping: gradientClipping)
        case .nesterov:
            return MomentumSGD(parameters: parameters, learningRate: learningRate, momentum: 0.8, nesterov: true,
                               weightDecay: weightDecay, gradientClipping: gradientClipping)
        case .adam:
            return Adam(parameters: parameters, learningRate: learningRate, beta1: 0.8, beta2: 0.95, eps: 1e-6,
                        weightDecay: weightDecay, gradientClipping: gradientClipping)
        case .adamW:
            return AdamW(parameters: parameters, learningRate: learningRate, beta1: 0.8, beta2: 0.95, eps: 1e-6,
                         weightDecay: weightDecay, gradientClipping: gradientClipping)
        case .rmsprop:
            return RMSprop(parameters: parameters, learningRate: learningRate, alpha: 0.9, eps: 1e-6,
                           weightDecay: weightDecay, gradientClipping: gradientClipping)
        case .adaGrad:
            return AdaGrad(parameters: parameters, learningRate: learningRate, eps: 1e-6, weightDecay: weightDecay,
                           gradientClipping: gradientClipping)
        }
    }
}
