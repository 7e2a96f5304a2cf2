import Kusari
import KusariOptim
import Testing

struct GradientClippingTests {
    @Test func clipGradientNormScalesAllGradientsTogether() {
        let a = parameter([0, 0]), b = parameter([0]), noGradient = parameter([5])
        let oldA = Tensor([Float(3), 4])
        a.grad = oldA
        setGradient(b, [12])
        // ‖(3, 4, 12)‖ = 13.
        let norm = clipGradientNorm([a, b, noGradient], maxNorm: 6.5)
        #expect(Swift.abs(norm - 13) < 1e-5)
        let factor = 6.5 / (13 + 1e-6)
        expectClose(a.grad!.scalars, [3 * factor, 4 * factor])
        expectClose(b.grad!.scalars, [12 * factor])
        #expect(noGradient.grad == nil)
        // The old gradient tensor is replaced, not modified.
        #expect(a.grad !== oldA)
        #expect(oldA.scalars == [3, 4])
    }

    @Test func clipGradientNormLeavesSmallGradientsAlone() {
        let a = parameter([0, 0])
        let gradient = Tensor([Float(0.3), -0.4])
        a.grad = gradient
        let norm = clipGradientNorm([a], maxNorm: 1)
        #expect(Swift.abs(norm - 0.5) < 1e-6)
        #expect(a.grad === gradient)
        #expect(gradient.scalars == [0.3, -0.4])
    }

    @Test func clipGradientNormCountsRepeatedTensorsOnce() {
        let a = parameter([0, 0])
        setGradient(a, [3, 4])
        let norm = clipGradientNorm([a, a], maxNorm: 1)
        #expect(Swift.abs(norm - 5) < 1e-5)
        expectClose(a.grad!.scalars, [3 / (5 + 1e-6), 4 / (5 + 1e-6)])
    }

    /// Large gradients go through the multi-threaded reduction and scaling.
    @Test func clipGradientNormOnLargeGradients() {
        let count = 400_003
        let values = lcgValues(count, seed: 11)
        let a = parameter([Float](repeating: 0, count: count))
        a.grad = Tensor(values)
        let expectedNorm = values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let norm = clipGradientNorm([a], maxNorm: 2)
        #expect(Swift.abs(Double(norm) - expectedNorm) <= 1e-5 * expectedNorm)
        let factor = 2 / (Double(norm) + 1e-6)
        let clipped = a.grad!.scalars
        for index in [0, 99_999, 100_001, 200_000, 300_000, count - 1] {
            #expect(Swift.abs(Double(clipped[index]) - Double(values[index]) * factor) <= 1e-7,
                    "element \(index)")
        }
        let clippedNorm = clipped.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(Swift.abs(clippedNorm - 2) < 1e-4)
    }

    @Test func optimizerClipsBeforeWeightDecayWithoutTouchingGradients() {
        let a = parameter([1, 1]), b = parameter([2])
        let gradA = Tensor([Float(3), 4]), gradB = Tensor([Float(0)])
        a.grad = gradA
        b.grad = gradB
        let lr = 0.1, decay = 0.5
        let optimizer = SGD(parameters: [("a", a), ("b", b)], learningRate: Float(lr), weightDecay: Float(decay),
                            gradientClipping: 1)
        optimizer.step()
        let factor = 1 / (5 + 1e-6)
        // p ← p − lr·(clipped g + λp): the decay term is not clipped.
        expectClose(a.scalars, [1 - lr * (3 * factor + decay), 1 - lr * (4 * factor + decay)])
        expectClose(b.scalars, [2 - lr * decay * 2])
        #expect(Swift.abs(optimizer.lastGradientNorm! - 5) < 1e-5)
        #expect(gradA.scalars == [3, 4] && a.grad === gradA)
    }

    @Test func optimizerDoesNotClipBelowTheLimit() {
        let a = parameter([1, 1])
        setGradient(a, [0.3, 0.4])
        let optimizer = SGD(parameters: [("a", a)], learningRate: 1, gradientClipping: 0.5 + 1e-3)
        optimizer.step()
        expectClose(a.scalars, [0.7, 0.6])
        #expect(Swift.abs(optimizer.gradientNorm() - 0.5) < 1e-6)
    }

    /// Clipping inside Adam changes the moments, and so the trajectory, once the gradient is
    /// large; the expected values follow Adam on the clipped gradients.
    @Test func adamUsesClippedGradients() {
        let p = parameter([0, 0])
        let optimizer = Adam(parameters: [("p", p)], learningRate: 0.1, beta1: 0.5, beta2: 0.5, eps: 0.1,
                             gradientClipping: 1)
        setGradient(p, [6, 8])
        optimizer.step()
        // Clipped gradient (0.6, 0.8)·10/(10 + 1e-6); on a first step m̂ = d and v̂ = d².
        let factor = 1 / (10 + 1e-6)
        let d = [6 * factor, 8 * factor]
        expectClose(p.scalars, d.map { -0.1 * $0 / (Swift.abs($0) + 0.1) })
    }
}
