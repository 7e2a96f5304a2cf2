import Kusari
import KusariNN
import KusariOptim
import Testing

/// The convenience initialisers that take a `Module`.
struct ModuleInitTests {
    final class TwoLayers: Module {
        let first = Linear(3, 4, generator: Generator(seed: 1))
        let second = Linear(4, 1, generator: Generator(seed: 2))

        func callAsFunction(_ x: Tensor) -> Tensor { second(relu(first(x))) }
    }

    @Test func trainsTheModuleParametersUnderTheirNames() {
        let model = TwoLayers()
        let optimizer = Adam(model)
        #expect(optimizer.namedParameters.map { $0.0 } == ["first.W", "first.b", "second.W", "second.b"])
        #expect(zip(optimizer.parameters, model.parameters()).allSatisfy { $0 === $1 })
        let keys = optimizer.stateDict().map { $0.0 }
        #expect(keys.contains("first.W/m") && keys.contains("second.b/v") && keys.contains("step"))
    }

    /// The module initialisers have the same defaults as the parameter-list ones.
    @Test func moduleInitialisersShareDefaults() {
        let model = TwoLayers()
        let named = model.namedParameters()
        func same(_ a: Optimizer, _ b: Optimizer) -> Bool {
            a.hyperparameters.map { $0.0 } == b.hyperparameters.map { $0.0 }
                && zip(a.hyperparameters, b.hyperparameters).allSatisfy { $0.1 == $1.1 }
        }
        #expect(same(SGD(model), SGD(parameters: named)))
        #expect(same(MomentumSGD(model), MomentumSGD(parameters: named)))
        #expect(same(Adam(model), Adam(parameters: named)))
        #expect(same(AdamW(model), AdamW(parameters: named)))
        #expect(same(RMSprop(model), RMSprop(parameters: named)))
        #expect(same(AdaGrad(model), AdaGrad(parameters: named)))
        // The explicit arguments are passed through.
        let momentum = MomentumSGD(model, learningRate: 0.2, momentum: 0.5, nesterov: true, weightDecay: 0.1,
                                   gradientClipping: 2)
        #expect(momentum.learningRate == 0.2 && momentum.momentum == 0.5 && momentum.nesterov)
        #expect(momentum.weightDecay == 0.1 && momentum.gradientClipping == 2)
    }

    /// A linear regression through `Linear` and `Module.zeroGrad()` converges.
    @Test func fitsALinearLayer() {
        let layer = Linear(3, 1, generator: Generator(seed: 3))
        let x = Tensor(lcgValues(48, seed: 21), shape: [16, 3])
        let targets = withNoGrad { (x * Tensor([Float(0.5), -1, 2])).sum(axis: 1, keepDims: true) - 0.75 }
        let optimizer = MomentumSGD(layer, learningRate: 0.1, nesterov: true)
        func loss() -> Tensor { (layer(x) - targets).square().mean() }
        let initial = withNoGrad { loss().item() }
        for _ in 0..<300 {
            layer.zeroGrad()
            loss().backward()
            optimizer.step()
        }
        let final = withNoGrad { loss().item() }
        #expect(initial > 0.1)
        #expect(final < 1e-6 * initial, "loss \(initial) → \(final)")
        expectClose(layer.W.scalars, [0.5, -1, 2], absolute: 1e-3, relative: 0)
        expectClose(layer.b!.scalars, [-0.75], absolute: 1e-3, relative: 0)
    }
}
