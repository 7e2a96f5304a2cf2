import Foundation
import Kusari
import KusariOptim
import Testing

/// Three updates of a three-element parameter against reference values computed here, in
/// `Double`, from the textbook formulas (closed forms where they exist, explicit recursions
/// otherwise).
struct UpdateRuleTests {
    let p0: [Float] = [1.0, -2.0, 0.5]
    /// The gradient of each of the three steps (one element is zero in step 2).
    let gradients: [[Float]] = [[0.1, 0.2, -0.3], [0.4, -0.1, 0.0], [-0.2, 0.3, 0.5]]

    func g(_ step: Int, _ i: Int) -> Double { Double(gradients[step][i]) }

    /// Runs three steps of `optimizer` on `p` with ``gradients`` and returns the final values.
    func run(_ optimizer: Optimizer, _ p: Tensor) -> [Float] {
        for step in gradients {
            setGradient(p, step)
            optimizer.step()
        }
        return p.scalars
    }

    @Test func documentedDefaults() {
        let params = [("p", parameter([1]))]
        let sgd = SGD(parameters: params)
        #expect(sgd.learningRate == 0.01 && sgd.weightDecay == 0 && sgd.gradientClipping == nil)
        let momentum = MomentumSGD(parameters: params)
        #expect(momentum.learningRate == 0.01 && momentum.momentum == 0.9 && !momentum.nesterov)
        let adam = Adam(parameters: params)
        #expect(adam.learningRate == 0.001 && adam.beta1 == 0.9 && adam.beta2 == 0.999 && adam.eps == 1e-8)
        #expect(adam.weightDecay == 0 && adam.gradientClipping == nil)
        let adamW = AdamW(parameters: params)
        #expect(adamW.learningRate == 0.001 && adamW.beta1 == 0.9 && adamW.beta2 == 0.999 && adamW.eps == 1e-8)
        #expect(adamW.weightDecay == 0.01 && adamW.gradientClipping == nil)
        let rmsprop = RMSprop(parameters: params)
        #expect(rmsprop.learningRate == 0.01 && rmsprop.alpha == 0.99 && rmsprop.eps == 1e-8)
        let adaGrad = AdaGrad(parameters: params)
        #expect(adaGrad.learningRate == 0.001 && adaGrad.eps == 1e-8)
    }

    // MARK: SGD

    @Test func sgd() {
        let p = parameter(p0)
        let result = run(SGD(parameters: [("p", p)], learningRate: 0.1), p)
        // p₃ = p₀ − lr·(g₁ + g₂ + g₃)
        expectClose(result, (0..<3).map { Double(p0[$0]) - 0.1 * (g(0, $0) + g(1, $0) + g(2, $0)) })
    }

    @Test func sgdWithWeightDecay() {
        let p = parameter(p0)
        let lr = 0.1, decay = 0.5
        let result = run(SGD(parameters: [("p", p)], learningRate: Float(lr), weightDecay: Float(decay)), p)
        // p ← p − lr·(g + λp) = k·p − lr·g with k = 1 − lr·λ, unrolled three times.
        let k = 1 - lr * decay
        expectClose(result, (0..<3).map { i in
            Double(p0[i]) * k * k * k - lr * (g(0, i) * k * k + g(1, i) * k + g(2, i))
        })
    }

    @Test func learningRateCanChangeBetweenSteps() {
        let p = parameter(p0)
        let optimizer = SGD(parameters: [("p", p)], learningRate: 0.1)
        setGradient(p, gradients[0])
        optimizer.step()
        optimizer.learningRate = 0.01
        setGradient(p, gradients[1])
        optimizer.step()
        expectClose(p.scalars, (0..<3).map { Double(p0[$0]) - 0.1 * g(0, $0) - 0.01 * g(1, $0) })
    }

    // MARK: Momentum

    @Test func momentumSGDWithDefaults() {
        let p = parameter(p0)
        let result = run(MomentumSGD(parameters: [("p", p)]), p)
        // v₁ = g₁, v₂ = μg₁ + g₂, v₃ = μ²g₁ + μg₂ + g₃ and p₃ = p₀ − lr·(v₁ + v₂ + v₃).
        let lr = 0.01, mu = 0.9
        expectClose(result, (0..<3).map { i in
            Double(p0[i]) - lr * (g(0, i) * (1 + mu + mu * mu) + g(1, i) * (1 + mu) + g(2, i))
        })
    }

    @Test func nesterovMomentum() {
        let p = parameter(p0)
        let lr = 0.1, mu = 0.9
        let result = run(MomentumSGD(parameters: [("p", p)], learningRate: Float(lr), momentum: Float(mu),
                                     nesterov: true), p)
        // Each step moves by lr·(g_t + μ·v_t); summing over the three steps:
        // g₁(1 + μ + μ² + μ³) + g₂(1 + μ + μ²) + g₃(1 + μ).
        expectClose(result, (0..<3).map { i in
            Double(p0[i]) - lr * (g(0, i) * (1 + mu + mu * mu + mu * mu * mu) + g(1, i) * (1 + mu + mu * mu)
                                  + g(2, i) * (1 + mu))
        })
    }

    @Test func momentumWithWeightDecay() {
        let p = parameter(p0)
        let lr = 0.1, mu = 0.5, decay = 0.2
        let result = run(MomentumSGD(parameters: [("p", p)], learningRate: Float(lr), momentum: Float(mu),
                                     weightDecay: Float(decay)), p)
        let expected = (0..<3).map { i -> Double in
            var value = Double(p0[i]), velocity = 0.0
            for t in 0..<3 {
                velocity = mu * velocity + (g(t, i) + decay * value)
                value -= lr * velocity
            }
            return value
        }
        expectClose(result, expected)
    }

    /// Chainer's formulation `v ← μv − lr·g; p ← p + v` gives the same parameters for a constant
    /// learning rate.
    @Test func momentumMatchesChainerFormulation() {
        let p = parameter(p0)
        let lr = 0.05, mu = 0.7
        let result = run(MomentumSGD(parameters: [("p", p)], learningRate: Float(lr), momentum: Float(mu)), p)
        let expected = (0..<3).map { i -> Double in
            var value = Double(p0[i]), velocity = 0.0
            for t in 0..<3 {
                velocity = mu * velocity - lr * g(t, i)
                value += velocity
            }
            return value
        }
        expectClose(result, expected)
    }

    // MARK: Adam

    /// With a constant gradient the bias-corrected moments are exactly `g` and `g²`, so every
    /// step moves by `α·g/(|g| + ε)`; without bias correction the first steps would be far smaller.
    @Test func adamBiasCorrectionWithConstantGradient() {
        let constant: [Float] = [0.5, -0.25, 2]
        let p = parameter(p0)
        let optimizer = Adam(parameters: [("p", p)])
        for _ in 0..<3 {
            setGradient(p, constant)
            optimizer.step()
        }
        expectClose(p.scalars, (0..<3).map { i in
            let gi = Double(constant[i])
            return Double(p0[i]) - 3 * 0.001 * gi / (Swift.abs(gi) + 1e-8)
        }, absolute: 1e-7, relative: 1e-6)
    }

    /// Reference Adam (Algorithm 1 of Kingma & Ba) with optional L2 or decoupled decay.
    func referenceAdam(lr: Double, beta1: Double, beta2: Double, eps: Double, l2: Double = 0,
                       decoupled: Double = 0) -> [Double] {
        (0..<3).map { i in
            var value = Double(p0[i]), m = 0.0, v = 0.0
            for t in 1...3 {
                let d = g(t - 1, i) + l2 * value
                m = beta1 * m + (1 - beta1) * d
                v = beta2 * v + (1 - beta2) * d * d
                let mHat = m / (1 - Foundation.pow(beta1, Double(t)))
                let vHat = v / (1 - Foundation.pow(beta2, Double(t)))
                value = value - lr * decoupled * value - lr * mHat / (vHat.squareRoot() + eps)
            }
            return value
        }
    }

    @Test func adamWithVaryingGradients() {
        let p = parameter(p0)
        let result = run(Adam(parameters: [("p", p)], learningRate: 0.1, beta1: 0.8, beta2: 0.9, eps: 1e-3), p)
        expectClose(result, referenceAdam(lr: 0.1, beta1: 0.8, beta2: 0.9, eps: 1e-3))
    }

    @Test func adamWithL2WeightDecay() {
        let p = parameter(p0)
        let result = run(Adam(parameters: [("p", p)], learningRate: 0.1, beta1: 0.8, beta2: 0.9, eps: 1e-3,
                              weightDecay: 0.3), p)
        expectClose(result, referenceAdam(lr: 0.1, beta1: 0.8, beta2: 0.9, eps: 1e-3, l2: 0.3))
    }

    @Test func adamWDecouplesWeightDecay() {
        let p = parameter(p0)
        let result = run(AdamW(parameters: [("p", p)], learningRate: 0.1, beta1: 0.8, beta2: 0.9, eps: 1e-3,
                               weightDecay: 0.3), p)
        expectClose(result, referenceAdam(lr: 0.1, beta1: 0.8, beta2: 0.9, eps: 1e-3, decoupled: 0.3))
        // The two kinds of decay really differ on this problem.
        let coupled = referenceAdam(lr: 0.1, beta1: 0.8, beta2: 0.9, eps: 1e-3, l2: 0.3)
        #expect(zip(result, coupled).contains { Swift.abs(Double($0) - $1) > 1e-3 })
    }

    /// Bias correction counts each parameter's own updates: a parameter that first gets a
    /// gradient at the third step moves like on a first step.
    @Test func adamCountsStepsPerParameter() {
        let a = parameter([1, 2]), b = parameter([3, -4])
        let optimizer = Adam(parameters: [("a", a), ("b", b)], learningRate: 0.01)
        for _ in 0..<2 {
            setGradient(a, [0.1, 0.1])
            optimizer.step()
        }
        #expect(b.scalars == [3, -4])
        setGradient(a, [0.1, 0.1])
        setGradient(b, [0.2, -0.5])
        optimizer.step()
        #expect(optimizer.stepCount == 3)
        expectClose(b.scalars, [3 - 0.01 * 0.2 / (0.2 + 1e-8), -4 + 0.01 * 0.5 / (0.5 + 1e-8)],
                    absolute: 1e-7, relative: 1e-6)
    }

    // MARK: RMSprop and AdaGrad

    @Test func rmspropClosedForm() {
        let p = parameter(p0)
        let lr = 0.1, alpha = 0.99, eps = 1e-8
        let result = run(RMSprop(parameters: [("p", p)], learningRate: Float(lr)), p)
        // ms₁ = (1−α)g₁², ms₂ = α(1−α)g₁² + (1−α)g₂², ms₃ = α²(1−α)g₁² + α(1−α)g₂² + (1−α)g₃².
        expectClose(result, (0..<3).map { i in
            let (a, b, c) = (g(0, i), g(1, i), g(2, i))
            let ms1 = (1 - alpha) * a * a
            let ms2 = alpha * (1 - alpha) * a * a + (1 - alpha) * b * b
            let ms3 = alpha * alpha * (1 - alpha) * a * a + alpha * (1 - alpha) * b * b + (1 - alpha) * c * c
            return Double(p0[i]) - lr * (a / (ms1.squareRoot() + eps) + b / (ms2.squareRoot() + eps)
                                         + c / (ms3.squareRoot() + eps))
        })
    }

    @Test func rmspropWithWeightDecay() {
        let p = parameter(p0)
        let lr = 0.01, alpha = 0.9, eps = 1e-4, decay = 0.2
        let result = run(RMSprop(parameters: [("p", p)], learningRate: Float(lr), alpha: Float(alpha), eps: Float(eps),
                                 weightDecay: Float(decay)), p)
        expectClose(result, (0..<3).map { i in
            var value = Double(p0[i]), ms = 0.0
            for t in 0..<3 {
                let d = g(t, i) + decay * value
                ms = alpha * ms + (1 - alpha) * d * d
                value -= lr * d / (ms.squareRoot() + eps)
            }
            return value
        })
    }

    @Test func adaGradClosedForm() {
        let p = parameter(p0)
        let lr = 0.1, eps = 1e-8
        let result = run(AdaGrad(parameters: [("p", p)], learningRate: Float(lr)), p)
        // h_t = Σ_{s≤t} g_s², p₃ = p₀ − lr·Σ_t g_t / (√h_t + ε).
        expectClose(result, (0..<3).map { i in
            var total = 0.0, h = 0.0
            for t in 0..<3 {
                h += g(t, i) * g(t, i)
                total += g(t, i) / (h.squareRoot() + eps)
            }
            return Double(p0[i]) - lr * total
        })
    }

    @Test func adaGradWithWeightDecay() {
        let p = parameter(p0)
        let lr = 0.1, eps = 1e-6, decay = 0.4
        let result = run(AdaGrad(parameters: [("p", p)], learningRate: Float(lr), eps: Float(eps),
                                 weightDecay: Float(decay)), p)
        expectClose(result, (0..<3).map { i in
            var value = Double(p0[i]), h = 0.0
            for t in 0..<3 {
                let d = g(t, i) + decay * value
                h += d * d
                value -= lr * d / (h.squareRoot() + eps)
            }
            return value
        })
    }

    // MARK: Parameters without gradients

    @Test(arguments: OptimizerKind.allCases)
    func parameterWithoutGradientIsLeftAlone(kind: OptimizerKind) {
        let a = parameter(p0), frozen = parameter([0.25, -0.75], shape: [2, 1])
        let optimizer = kind.make([("a", a), ("frozen", frozen)], learningRate: 0.1, weightDecay: 0.1,
                                  gradientClipping: 0.3)
        let before = a.scalars
        for step in gradients {
            setGradient(a, step)
            optimizer.step()
        }
        #expect(a.scalars != before, "the parameter with gradients must move")
        #expect(frozen.scalars == [0.25, -0.75])
        #expect(frozen.grad == nil)
        let state = Dictionary(optimizer.stateDict(), uniquingKeysWith: { first, _ in first })
        #expect(state["frozen/step"]?.toArray(of: Int64.self) == [0])
        #expect(state["a/step"]?.toArray(of: Int64.self) == [3])
        for name in optimizer.stateNames {
            #expect(state["frozen/" + name]?.scalars == [0, 0], "\(name) of the skipped parameter")
        }
    }

    @Test func gradientsAreNotModified() {
        let p = parameter(p0)
        let optimizer = Adam(parameters: [("p", p)], learningRate: 0.1, weightDecay: 0.5, gradientClipping: 0.01)
        let gradient = Tensor(gradients[0])
        p.grad = gradient
        optimizer.step()
        #expect(gradient.scalars == gradients[0])
        #expect(p.grad === gradient)
    }

    @Test func zeroGradClearsEveryGradient() {
        let a = parameter([1]), b = parameter([2])
        let optimizer = SGD(parameters: [("a", a), ("b", b)])
        setGradient(a, [1])
        setGradient(b, [1])
        optimizer.zeroGrad()
        #expect(a.grad == nil && b.grad == nil)
    }

    /// A parameter large enough to be split across threads gets the same update as a scalar loop.
    @Test(arguments: [OptimizerKind.sgd, .nesterov, .adam, .adamW, .rmsprop, .adaGrad])
    func largeParameterMatchesElementwiseReference(kind: OptimizerKind) {
        let count = 300_007
        let initial = lcgValues(count, seed: 1)
        let grads = [lcgValues(count, seed: 2), lcgValues(count, seed: 3)]
        let big = parameter(initial)
        let optimizer = kind.make([("big", big)], learningRate: 0.01, weightDecay: 0.1)
        // The same optimizer on a one-element parameter per probe index gives the reference.
        let probes = [0, 1, 65_535, 65_536, 150_003, count - 1]
        let singles = probes.map { parameter([initial[$0]]) }
        let reference = kind.make(singles.enumerated().map { ("s\($0.offset)", $0.element) }, learningRate: 0.01,
                                  weightDecay: 0.1)
        for step in grads {
            big.grad = Tensor(step)
            optimizer.step()
            for (probe, single) in zip(probes, singles) { setGradient(single, [step[probe]]) }
            reference.step()
        }
        let values = big.scalars
        for (probe, single) in zip(probes, singles) {
            #expect(values[probe] == single.scalars[0], "element \(probe)")
        }
        #expect(values[12_345] != initial[12_345])
    }
}
