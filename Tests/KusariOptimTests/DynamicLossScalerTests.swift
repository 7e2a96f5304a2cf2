import Kusari
import KusariOptim
import KusariTestSupport
import Testing

/// The emulated GPU of the device test (its own ordinal, so other suites' devices do not mix in).
private let emulated = EmulatedDevice.install(ordinal: 18)

/// The raw bit patterns of the float32 tensors of a state dict (or of parameters), for
/// bit-exact comparisons.
private func bitPatterns(_ state: [(String, Tensor)]) -> [String: [UInt32]] {
    var result: [String: [UInt32]] = [:]
    for (key, tensor) in state where tensor.dtype == .float32 {
        result[key] = tensor.toArray(of: Float.self).map(\.bitPattern)
    }
    return result
}

/// Two parameters (one of 11 elements, so the SIMD loops have a tail) with fixed values.
private func makeParameters(on device: Device = .cpu) throws -> [(String, Tensor)] {
    try [("a", [3, 4]), ("b", [11])].enumerated().map { index, entry in
        let (name, shape) = entry
        return (name, try Tensor(lcgValues(shape.reduce(1, *), seed: UInt64(index + 1)), shape: shape)
            .to(device: device).requiringGrad())
    }
}

/// Gradient values of parameter `index` at `step`, in about [-3, 3).
private func gradientValues(_ index: Int, count: Int, step: Int) -> [Float] {
    lcgValues(count, seed: UInt64(100 + 10 * index + step)).map { $0 * 3 }
}

/// Gives every parameter of `optimizer` its gradient of `step`, multiplied by `factor`.
private func setGradients(_ optimizer: Optimizer, step: Int, factor: Float = 1) throws {
    for (index, (_, parameter)) in optimizer.namedParameters.enumerated() {
        let values = gradientValues(index, count: parameter.count, step: step).map { $0 * factor }
        parameter.grad = try Tensor(values, shape: parameter.shape).to(device: parameter.device)
    }
}

struct DynamicLossScalerTests {
    @Test func defaultsAreGradScalers() {
        let scaler = DynamicLossScaler()
        #expect(scaler.scale == 65536)
        #expect(scaler.growthFactor == 2)
        #expect(scaler.backoffFactor == 0.5)
        #expect(scaler.growthInterval == 2000)
        #expect(scaler.growthTracker == 0)
        #expect(scaler.skippedSteps == 0)
    }

    @Test func scaledLossBackPropagatesScaledGradients() {
        let p = parameter([1, -2, 0.5])
        let scaler = DynamicLossScaler(initialScale: 1024)
        let loss = (p * p).sum()
        let scaled = scaler.scaled(loss)
        #expect(scaled.item() == 1024 * loss.item())
        scaled.backward()
        #expect(p.grad!.scalars == [2048, -4096, 1024])
    }

    @Test func scaleGrowsAfterGrowthIntervalFiniteSteps() throws {
        let optimizer = SGD(parameters: try makeParameters(), learningRate: 0.1)
        let scaler = DynamicLossScaler(initialScale: 8, growthInterval: 3)
        for step in 0..<2 {
            try setGradients(optimizer, step: step)
            #expect(scaler.step(optimizer))
        }
        #expect(scaler.scale == 8)
        #expect(scaler.growthTracker == 2)
        try setGradients(optimizer, step: 2)
        #expect(scaler.step(optimizer))
        #expect(scaler.scale == 16)
        #expect(scaler.growthTracker == 0)
        for step in 3..<6 {
            try setGradients(optimizer, step: step)
            scaler.step(optimizer)
        }
        #expect(scaler.scale == 32)
        #expect(scaler.skippedSteps == 0)
        #expect(optimizer.stepCount == 6)
    }

    /// A non-finite gradient anywhere (here in the SIMD tail of the 11-element parameter, or in
    /// the middle of the SIMD body of the other) skips the step: the weights, the momentum buffers
    /// and the step counts stay bit for bit, and the scale backs off.
    @Test(arguments: [Float.infinity, -Float.infinity, Float.nan], [("a", 5), ("b", 10)])
    func nonFiniteGradientSkipsStepAndBacksOff(bad: Float, position: (String, Int)) throws {
        let parameters = try makeParameters()
        let optimizer = MomentumSGD(parameters: parameters, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        let scaler = DynamicLossScaler(initialScale: 1024, growthInterval: 10)
        try setGradients(optimizer, step: 0, factor: 1024)
        #expect(scaler.step(optimizer))
        #expect(scaler.growthTracker == 1)
        let weights = bitPatterns(parameters)
        let state = bitPatterns(optimizer.stateDict())
        let steps = optimizer.stateDict().filter { $0.0.hasSuffix("step") }.map { $0.1.toArray(of: Int64.self) }

        try setGradients(optimizer, step: 1, factor: 1024)
        let tensor = parameters.first { $0.0 == position.0 }!.1
        var values = tensor.grad!.scalars
        values[position.1] = bad
        tensor.grad = Tensor(values, shape: tensor.shape)
        #expect(!scaler.step(optimizer))

        #expect(bitPatterns(parameters) == weights)
        #expect(bitPatterns(optimizer.stateDict()) == state)
        #expect(optimizer.stateDict().filter { $0.0.hasSuffix("step") }.map { $0.1.toArray(of: Int64.self) } == steps)
        #expect(optimizer.stepCount == 1)
        #expect(scaler.scale == 512)
        #expect(scaler.growthTracker == 0)
        #expect(scaler.skippedSteps == 1)

        // The next finite step goes through again, unscaled by the new scale.
        try setGradients(optimizer, step: 2, factor: 512)
        #expect(scaler.step(optimizer))
        #expect(optimizer.stepCount == 2)
        #expect(bitPatterns(parameters) != weights)
    }

    /// A large gradient goes through the multi-threaded scan.
    @Test func nonFiniteValueInLargeGradientIsFound() throws {
        let count = 400_003
        let p = Tensor([Float](repeating: 0, count: count)).requiringGrad()
        let optimizer = SGD(parameters: [("p", p)], learningRate: 1)
        let scaler = DynamicLossScaler(initialScale: 4)
        var values = lcgValues(count, seed: 3)
        p.grad = Tensor(values)
        #expect(scaler.step(optimizer))
        for index in [0, 150_001, count - 1] {
            values[index] = .nan
            p.grad = Tensor(values)
            let before = p.scalars
            #expect(!scaler.step(optimizer), "NaN at \(index)")
            #expect(p.scalars.map(\.bitPattern) == before.map(\.bitPattern))
            values[index] = 0.5
        }
        #expect(scaler.skippedSteps == 3)
        #expect(scaler.scale == 0.5)
    }

    /// Stepping through the scaler on gradients multiplied by the scale gives exactly the weights
    /// and state of a plain step on the unscaled gradients, for every optimizer, with weight decay
    /// and with clipping (scales are powers of two, so unscaling is exact), and clipping measures
    /// the unscaled norm.
    @Test(arguments: OptimizerKind.allCases, [nil, Float(1.5)])
    func unscaledStepEqualsPlainStep(kind: OptimizerKind, clipping: Float?) throws {
        let plainParameters = try makeParameters(), scaledParameters = try makeParameters()
        let plain = kind.make(plainParameters, learningRate: 0.05, weightDecay: 0.1, gradientClipping: clipping)
        let scaled = kind.make(scaledParameters, learningRate: 0.05, weightDecay: 0.1, gradientClipping: clipping)
        let scaler = DynamicLossScaler(initialScale: 65536, growthInterval: 2)
        for step in 0..<5 {
            try setGradients(plain, step: step)
            plain.step()
            try setGradients(scaled, step: step, factor: scaler.scale)
            #expect(scaler.step(scaled))
            #expect(scaled.lastGradientNorm == plain.lastGradientNorm)
        }
        #expect(scaler.scale == 65536 * 4)
        let expected = bitPatterns(plain.stateDict())
        #expect(!expected.isEmpty)
        #expect(bitPatterns(scaled.stateDict()) == expected)
        #expect(bitPatterns(scaledParameters) == bitPatterns(plainParameters))
        if clipping != nil { #expect(plain.lastGradientNorm! > 1.5) }
    }

    @Test func gradientScaleOfOneIsThePlainStep() throws {
        let first = try makeParameters(), second = try makeParameters()
        let a = Adam(parameters: first, learningRate: 0.01), b = Adam(parameters: second, learningRate: 0.01)
        try setGradients(a, step: 0)
        try setGradients(b, step: 0)
        a.step()
        b.step(gradientScale: 1)
        #expect(bitPatterns(first) == bitPatterns(second))
        #expect(bitPatterns(first) != bitPatterns(try makeParameters()))
    }

    /// On a (emulated) GPU the check is the backend's one-pass scan (no tensor ops): finite
    /// gradients step exactly like the CPU, a NaN or an infinity skips the step.
    @Test func deviceGradientsAreCheckedOnTheDevice() throws {
        let device = emulated.device
        let cpuParameters = try makeParameters(), deviceParameters = try makeParameters(on: device)
        let cpu = MomentumSGD(parameters: cpuParameters, learningRate: 0.1, momentum: 0.9)
        let gpu = MomentumSGD(parameters: deviceParameters, learningRate: 0.1, momentum: 0.9)
        let cpuScaler = DynamicLossScaler(initialScale: 256), gpuScaler = DynamicLossScaler(initialScale: 256)
        for step in 0..<2 {
            try setGradients(cpu, step: step, factor: 256)
            try setGradients(gpu, step: step, factor: 256)
            #expect(cpuScaler.step(cpu))
            let (binary, reduce) = (emulated.calls["binary", default: 0], emulated.calls["reduce", default: 0])
            #expect(gpuScaler.step(gpu))
            #expect(emulated.calls["binary", default: 0] == binary && emulated.calls["reduce", default: 0] == reduce)
        }
        let expected = bitPatterns(cpuParameters)
        #expect(bitPatterns(deviceParameters.map { ($0.0, $0.1.hostCopy()) }) == expected)
        for bad in [Float.nan, Float.infinity] {
            try setGradients(gpu, step: 5, factor: 256)
            let b = deviceParameters[1].1
            var values = gradientValues(1, count: b.count, step: 5)
            values[7] = bad
            b.grad = try Tensor(values, shape: b.shape).to(device: device)
            #expect(!gpuScaler.step(gpu))
            #expect(bitPatterns(deviceParameters.map { ($0.0, $0.1.hostCopy()) }) == expected)
        }
        #expect(gpuScaler.skippedSteps == 2)
        #expect(gpuScaler.scale == 64)
        #expect(gpu.stepCount == 2)
    }

    /// A gradient the backend's scan does not take (a strided view) is checked with tensor ops
    /// instead, with the same verdicts.
    @Test func stridedDeviceGradientsAreCheckedWithTensorOps() throws {
        let parameters = try makeParameters(on: emulated.device)
        let optimizer = SGD(parameters: parameters, learningRate: 0.1)
        let scaler = DynamicLossScaler(initialScale: 4)
        for bad in [Float(1), .infinity, .nan] {
            try setGradients(optimizer, step: 1)
            var values = gradientValues(0, count: 12, step: 1)
            values[5] = bad
            let strided = try Tensor(values, shape: [4, 3]).to(device: emulated.device).permute([1, 0])
            #expect(!strided.isContiguous)
            parameters[0].1.grad = strided
            let reductions = emulated.calls["reduce", default: 0]
            #expect(scaler.step(optimizer) == bad.isFinite, "\(bad)")
            #expect(emulated.calls["reduce", default: 0] > reductions)
        }
        #expect(scaler.skippedSteps == 2 && optimizer.stepCount == 1)
    }

    @Test func stateDictRoundTrip() throws {
        let optimizer = SGD(parameters: try makeParameters(), learningRate: 0.1)
        let scaler = DynamicLossScaler(initialScale: 1024, growthInterval: 5)
        for step in 0..<3 {
            try setGradients(optimizer, step: step)
            scaler.step(optimizer)
        }
        optimizer.namedParameters[0].1.grad = Tensor([Float](repeating: .infinity, count: 12), shape: [3, 4])
        scaler.step(optimizer)
        try setGradients(optimizer, step: 4)
        scaler.step(optimizer)
        #expect(scaler.scale == 512)
        #expect(scaler.growthTracker == 1)
        #expect(scaler.skippedSteps == 1)

        let state = scaler.stateDict()
        #expect(state.map(\.0) == ["scale", "growth_tracker", "skipped_steps"])
        // Through an .npz archive's arrays, as a snapshot stores them.
        let reread = state.map { ($0.0, Tensor(npy: $0.1.npyArray)) }
        let restored = DynamicLossScaler(initialScale: 1024, growthInterval: 5)
        try restored.loadStateDict(reread)
        #expect(restored.scale == 512)
        #expect(restored.growthTracker == 1)
        #expect(restored.skippedSteps == 1)

        restored.reset()
        #expect(restored.scale == 1024 && restored.growthTracker == 0 && restored.skippedSteps == 0)
    }

    @Test func corruptStateIsRefusedWithoutChanges() {
        let scaler = DynamicLossScaler(initialScale: 128)
        let good: [(String, Tensor)] = [("scale", Tensor(scalar: 8)), ("growth_tracker", Tensor([Int64(3)], shape: [])),
                                        ("skipped_steps", Tensor([Int64(2)], shape: []))]
        func refused(_ state: [(String, Tensor)], mentioning phrases: [String]) {
            do {
                try scaler.loadStateDict(state)
                Issue.record("loaded \(state.map(\.0))")
            } catch let error as LossScalerStateError {
                for phrase in phrases {
                    #expect(error.description.contains(phrase), "\(error.description) lacks \(phrase)")
                }
            } catch {
                Issue.record("unexpected error \(error)")
            }
            #expect(scaler.scale == 128 && scaler.growthTracker == 0 && scaler.skippedSteps == 0)
        }
        refused(Array(good.dropFirst()), mentioning: ["missing key 'scale'"])
        refused(good + [("extra", Tensor(scalar: 1))], mentioning: ["unexpected key 'extra'"])
        refused([("scale", Tensor(scalar: .nan))] + good.dropFirst(), mentioning: ["'scale' must be a finite positive"])
        refused([("scale", Tensor(scalar: -4))] + good.dropFirst(), mentioning: ["'scale'"])
        refused([("scale", Tensor(scalar: .infinity))] + good.dropFirst(), mentioning: ["'scale'"])
        refused([good[0], ("growth_tracker", Tensor([Int64(-1)], shape: [])), good[2]],
                mentioning: ["'growth_tracker' must be a non-negative integer"])
        refused([good[0], good[1], ("skipped_steps", Tensor([Float(1.5)], shape: []))],
                mentioning: ["'skipped_steps' must be a non-negative integer"])
        refused([("scale", Tensor([Float(1), 2], shape: [2]))] + good.dropFirst(), mentioning: ["'scale' must be a scalar"])
        refused([], mentioning: ["missing key 'scale'", "missing key 'growth_tracker'", "missing key 'skipped_steps'"])
        // The good state does load.
        #expect(throws: Never.self) { try scaler.loadStateDict(good) }
        #expect(scaler.scale == 8 && scaler.growthTracker == 3 && scaler.skippedSteps == 2)
    }
}

struct DynamicLossScalerSettingsTests {
    @Test func aScalerStartsFromItsSettingsAndReportsThem() {
        let settings = DynamicLossScaler.Settings(initialScale: 1024, growthFactor: 4, backoffFactor: 0.25,
                                                  growthInterval: 7)
        let scaler = DynamicLossScaler(settings)
        #expect(scaler.scale == 1024 && scaler.growthFactor == 4 && scaler.backoffFactor == 0.25
                && scaler.growthInterval == 7)
        #expect(scaler.settings == settings)
        #expect(DynamicLossScaler().settings == DynamicLossScaler.Settings())
    }

    @Test func settingsNameEveryProblem() {
        #expect(DynamicLossScaler.Settings().problems.isEmpty)
        let bad = DynamicLossScaler.Settings(initialScale: .infinity, growthFactor: 1, backoffFactor: 1, growthInterval: 0)
        #expect(bad.problems == [
            "the initial loss scale inf must be finite and positive",
            "the growth factor 1.0 must be finite and greater than 1",
            "the backoff factor 1.0 must lie strictly between 0 and 1",
            "the growth interval 0 must be positive",
        ])
        #expect(DynamicLossScaler.Settings(initialScale: -2).problems == ["the initial loss scale -2.0 must be finite and positive"])
    }
}
