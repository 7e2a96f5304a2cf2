import Kusari
import KusariOptim
import Testing

struct PerParameterWeightDecayTests {
    /// Only the named parameter is decayed with its own coefficient; the others keep the global one.
    @Test func namedParametersUseTheirOwnCoefficient() {
        let a = Tensor([Float(1), 2]).requiringGrad(), b = Tensor([Float(3)]).requiringGrad()
        a.grad = Tensor([Float(0.5), 0.5])
        b.grad = Tensor([Float(1)])
        let optimizer = SGD(parameters: [("a", a), ("b", b)], learningRate: 0.1, weightDecay: 0)
        optimizer.setWeightDecay(0.004, forParameters: ["a"])
        optimizer.step()
        // p ← p − lr (g + λ p)
        for (value, expected) in zip(a.scalars, [1 - 0.1 * (0.5 + 0.004 * 1), 2 - 0.1 * (0.5 + 0.004 * 2)]) {
            #expect(Swift.abs(value - Float(expected)) < 1e-6)
        }
        #expect(Swift.abs(b.scalars[0] - Float(3 - 0.1 * 1)) < 1e-6)
    }
}
