import Foundation
import Kusari
import KusariNN
import Testing

struct InitializerTests {
    private func statistics(_ values: [Float]) -> (mean: Float, std: Float) {
        let mean = values.reduce(0, +) / Float(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)
        return (mean, variance.squareRoot())
    }

    @Test func fansFollowChainer() {
        #expect(Initializer.fans([20, 10]) == (10, 20))  // Linear W [out, in]
        #expect(Initializer.fans([16, 3, 5, 5]) == (75, 400))  // Conv W [Cout, Cin, kh, kw]
        #expect(Initializer.fans([8, 4, 3, 3]) == (36, 72))  // Deconv W [Cin, Cout, kh, kw]
        #expect(Initializer.fans([7]) == (7, 7))
    }

    @Test(arguments: [
        (Initializer.lecunNormal, Float(1.0 / 200).squareRoot()),
        (.heNormal, Float(2.0 / 200).squareRoot()),
        (.glorotNormal, Float(2.0 / 500).squareRoot()),
        (.normal(std: 0.05), 0.05),
        // A uniform on ±a has standard deviation a / √3.
        (.lecunUniform, Float(3.0 / 200).squareRoot() / Float(3).squareRoot()),
        (.heUniform, Float(6.0 / 200).squareRoot() / Float(3).squareRoot()),
        (.glorotUniform, Float(6.0 / 500).squareRoot() / Float(3).squareRoot()),
        (.uniform(scale: 0.3), 0.3 / Float(3).squareRoot()),
    ])
    func randomInitializersHaveTheRightSpread(_ initializer: Initializer, _ expectedStd: Float) {
        let values = initializer.makeTensor([300, 200], generator: Generator(seed: 1)).scalars
        let (mean, std) = statistics(values)
        #expect(Swift.abs(mean) < 0.05 * expectedStd)
        #expect(Swift.abs(std / expectedStd - 1) < 0.02)
        switch initializer {
        case .lecunUniform, .heUniform, .glorotUniform, .uniform:
            let bound = expectedStd * Float(3).squareRoot()
            #expect(values.allSatisfy { Swift.abs($0) <= bound * 1.0001 })
        default: break
        }
    }

    @Test func truncatedNormalStaysWithinTwoStandardDeviations() {
        let values = Initializer.truncatedNormal(std: 0.04).makeTensor([300, 200], generator: Generator(seed: 4)).scalars
        #expect(values.allSatisfy { Swift.abs($0) <= 0.08 })
        let (mean, std) = statistics(values)
        // A standard normal truncated to ±2 has standard deviation 0.8796.
        #expect(Swift.abs(mean) < 0.002 && Swift.abs(std / (0.04 * 0.8796) - 1) < 0.02)
        #expect(Initializer.truncatedNormal(std: 0.04).makeTensor([50], generator: Generator(seed: 4)).scalars
                == Initializer.truncatedNormal(std: 0.04).makeTensor([50], generator: Generator(seed: 4)).scalars)
    }

    @Test func constantsAndDeterminism() {
        #expect(Initializer.constant(0.5).makeTensor([3]).scalars == [0.5, 0.5, 0.5])
        #expect(Initializer.zeros.makeTensor([2, 2]).scalars == [0, 0, 0, 0])
        let a = Initializer.heNormal.makeTensor([4, 4], generator: Generator(seed: 9))
        let b = Initializer.heNormal.makeTensor([4, 4], generator: Generator(seed: 9))
        #expect(a.scalars == b.scalars && !a.requiresGrad)
        let target = Tensor.zeros([4, 4])
        Initializer.heNormal.initialize(target, generator: Generator(seed: 9))
        #expect(target.scalars == a.scalars)
    }

    @Test func layersUseChainerDefaults() {
        let conv = Conv2d(16, 32, kernelSize: 3, generator: Generator(seed: 2))
        #expect(Swift.abs(statistics(conv.W.scalars).std / Float(1.0 / 144).squareRoot() - 1) < 0.05)
        #expect(conv.b!.scalars.allSatisfy { $0 == 0 } && conv.W.requiresGrad && conv.b!.requiresGrad)
        let linear = Linear(400, 50, generator: Generator(seed: 3))
        #expect(Swift.abs(statistics(linear.W.scalars).std / Float(1.0 / 400).squareRoot() - 1) < 0.05)
        // Same seed, same weights.
        #expect(Linear(400, 50, generator: Generator(seed: 3)).W.scalars == linear.W.scalars)
        let he = Conv2d(16, 32, kernelSize: 3, initializer: .heNormal, biasInitializer: .constant(0.1))
        #expect(he.b!.scalars.allSatisfy { $0 == 0.1 })
    }
}
