import Kusari
import KusariNN
import KusariOptim
import KusariTestSupport
import Testing

/// The emulated GPU these tests train on (its own ordinal, so other suites' devices do not mix in).
private let emulated = EmulatedDevice.install(ordinal: 16)
private let gpu = emulated.device

/// Optimizer steps on parameters that live on a (emulated) GPU: the fused kernels of SGD,
/// MomentumSGD and Adam/AdamW (the emulator provides ``FusedOptimizerOperations``), their
/// tensor-op fallback, the host-copy fallback of the others, gradient clipping, state placement
/// and state dicts all match the CPU. Serialized, because the tests count the device's fused steps.
@Suite(.serialized)
struct DeviceOptimizerTests {
    /// Two parameters (one of 11 elements, so the CPU's SIMD loops have a tail) and three
    /// steps of gradients; the second parameter skips step 2.
    let shapes = [[3, 4], [11]]

    func gradient(_ parameter: Int, step: Int) -> [Float] {
        lcgValues(shapes[parameter].reduce(1, *), seed: UInt64(100 + 10 * parameter + step)).map { $0 * 3 }
    }

    /// The same parameters on the CPU and on the device, trained by `kind` for three steps.
    func train(_ kind: OptimizerKind, on device: Device, weightDecay: Float = 0.1,
               gradientClipping: Float? = nil) throws -> (parameters: [Tensor], optimizer: Optimizer) {
        let parameters = try shapes.enumerated().map { index, shape in
            try Tensor(lcgValues(shape.reduce(1, *), seed: UInt64(index + 1)), shape: shape)
                .to(device: device).requiringGrad()
        }
        let optimizer = kind.make([("a", parameters[0]), ("b", parameters[1])], learningRate: 0.05,
                                  weightDecay: weightDecay, gradientClipping: gradientClipping)
        for step in 0..<3 {
            for (index, parameter) in parameters.enumerated() {
                parameter.grad = index == 1 && step == 1
                    ? nil : try Tensor(gradient(index, step: step), shape: shapes[index]).to(device: device)
            }
            optimizer.step()
        }
        return (parameters, optimizer)
    }

    /// SGD, MomentumSGD and Adam/AdamW take the fused step, with the CPU kernels' arithmetic:
    /// bit-identical weights and state. The others go through host copies (within 1e-6).
    @Test(arguments: OptimizerKind.allCases)
    func deviceStepsMatchTheCPU(_ kind: OptimizerKind) throws {
        let cpu = try train(kind, on: .cpu)
        let fusedBefore = emulated.fusedOptimizerSteps
        let device = try train(kind, on: gpu)
        // Three steps of two parameters, one of which has no gradient in step 2.
        #expect(emulated.fusedOptimizerSteps - fusedBefore == (kind.isFused ? 5 : 0), "\(kind)")
        let tolerance: Float = kind.isFused ? 0 : 1e-6
        for (host, moved) in zip(cpu.parameters, device.parameters) {
            #expect(moved.device == gpu)
            #expect(maxDifference(host.scalars, moved.scalars) <= tolerance, "\(kind)")
        }
        let hostState = cpu.optimizer.stateDict(), deviceState = device.optimizer.stateDict()
        #expect(hostState.map(\.0) == deviceState.map(\.0))
        for ((key, host), (_, moved)) in zip(hostState, deviceState) {
            #expect(moved.device == .cpu, "\(key) of the state dict is not host data")
            #expect(maxDifference(host.scalars, moved.scalars) <= tolerance, "\(kind): \(key)")
        }
    }

    /// A gradient that is a transposed view is not what the fused kernels take: the update falls
    /// back to tensor ops and still matches the CPU.
    @Test(arguments: [OptimizerKind.sgd, .nesterov, .adamW])
    func stridedGradientsTakeTheTensorOpPath(_ kind: OptimizerKind) throws {
        let start = lcgValues(12, seed: 4), gradient = lcgTensor([4, 3], seed: 5)
        let host = parameter(start, shape: [3, 4])
        let moved = try parameter(start, shape: [3, 4]).to(device: gpu).requiringGrad()
        let hostOptimizer = kind.make([("w", host)], learningRate: 0.05, weightDecay: 0.1)
        let deviceOptimizer = kind.make([("w", moved)], learningRate: 0.05, weightDecay: 0.1)
        let fusedBefore = emulated.fusedOptimizerSteps, binaryBefore = emulated.calls["binary", default: 0]
        for _ in 0..<2 {
            host.grad = gradient.permute([1, 0])
            moved.grad = try gradient.to(device: gpu).permute([1, 0])
            #expect(moved.grad?.isContiguous == false)
            hostOptimizer.step()
            deviceOptimizer.step()
        }
        #expect(emulated.fusedOptimizerSteps == fusedBefore, "\(kind) took the fused step")
        #expect(emulated.calls["binary", default: 0] > binaryBefore, "\(kind) did not use tensor ops")
        #expect(host.scalars != start)
        #expect(maxDifference(host.scalars, moved.scalars) <= 1e-6, "\(kind)")
    }

    /// The emulator's fused step refuses what ``FusedOptimizerRule/checkOperands(parameter:gradient:state:on:)``
    /// rules out, and changes nothing then.
    @Test func fusedStepsRejectBadOperands() throws {
        let values: [Float] = [1, 2, 3, 4, 5, 6]
        let weight = try Tensor(values, shape: [2, 3]).to(device: gpu)
        let gradient = try Tensor([Float](repeating: 1, count: 6), shape: [2, 3]).to(device: gpu)
        let velocity = try Tensor.zeros([2, 3]).to(device: gpu)
        let momentum = FusedOptimizerRule.momentum(learningRate: 0.1, scale: 1, decay: 0, momentum: 0.9,
                                                   nesterov: false)
        let before = emulated.fusedOptimizerSteps
        #expect(throws: KusariError.self) {
            try emulated.optimizerStep(momentum, parameter: weight, gradient: gradient, state: [])
        }
        #expect(throws: KusariError.self) {
            try emulated.optimizerStep(momentum, parameter: weight, gradient: gradient.reshape([3, 2]),
                                       state: [velocity])
        }
        #expect(throws: KusariError.self) {
            try emulated.optimizerStep(momentum, parameter: weight, gradient: Tensor([Float](repeating: 1, count: 6),
                                                                                       shape: [2, 3]),
                                       state: [velocity])
        }
        let strided = try Tensor(values, shape: [3, 2]).to(device: gpu).permute([1, 0])
        #expect(throws: KusariError.self) {
            try emulated.optimizerStep(.sgd(learningRate: 0.1, scale: 1, decay: 0), parameter: weight,
                                       gradient: strided, state: [])
        }
        #expect(emulated.fusedOptimizerSteps == before)
        #expect(weight.scalars == values)
        try emulated.optimizerStep(momentum, parameter: weight, gradient: gradient, state: [velocity])
        #expect(emulated.fusedOptimizerSteps == before + 1)
        #expect(weight.scalars == values.map { $0 - Float(0.1) * 1 })
        #expect(velocity.scalars == [Float](repeating: 1, count: 6))
    }

    @Test(arguments: [OptimizerKind.sgd, .adam])
    func clippedDeviceStepsMatchTheCPU(_ kind: OptimizerKind) throws {
        let cpu = try train(kind, on: .cpu, weightDecay: 0, gradientClipping: 0.5)
        let device = try train(kind, on: gpu, weightDecay: 0, gradientClipping: 0.5)
        let hostNorm = try #require(cpu.optimizer.lastGradientNorm)
        let deviceNorm = try #require(device.optimizer.lastGradientNorm)
        #expect(Swift.abs(hostNorm - deviceNorm) <= 1e-5 * hostNorm)
        for (host, moved) in zip(cpu.parameters, device.parameters) {
            #expect(maxDifference(host.scalars, moved.scalars) <= 1e-5)
        }
    }

    @Test func clipGradientNormScalesDeviceGradients() throws {
        let values: [Float] = [3, 4, 0, 0]
        let host = parameter(values), moved = try parameter(values).to(device: gpu).requiringGrad()
        setGradient(host, values)
        moved.grad = try Tensor(values).to(device: gpu)
        let hostNorm = clipGradientNorm([host], maxNorm: 1)
        let deviceNorm = clipGradientNorm([moved], maxNorm: 1)
        #expect(hostNorm == 5 && deviceNorm == 5)
        #expect(moved.grad?.device == gpu)
        #expect(maxDifference(host.grad!.scalars, moved.grad!.scalars) <= 1e-7)
    }

    @Test func stateIsCreatedOnTheParametersDevice() throws {
        let weight = try Tensor([1, 2, 3]).to(device: gpu).requiringGrad()
        let optimizer = Adam(parameters: [("w", weight)])
        let steps = emulated.fusedOptimizerSteps
        weight.grad = try Tensor([0.1, 0.2, 0.3]).to(device: gpu)
        optimizer.step()
        #expect(emulated.fusedOptimizerSteps == steps + 1, "the update did not run on the device")
        #expect(optimizer.stateDict().allSatisfy { $0.1.device == .cpu })
    }

    @Test func stateFollowsAModuleMovedAfterTheOptimizerWasMade() throws {
        let model = Linear(3, 2, generator: Generator(seed: 1))
        let reference = Linear(3, 2, generator: Generator(seed: 1))
        let optimizer = MomentumSGD(model), expected = MomentumSGD(reference)
        let input = lcgTensor([4, 3], seed: 9), labels = Tensor([Int32(0), 1, 1, 0], shape: [4])
        func step(_ net: Linear, _ optimizer: Optimizer, _ x: Tensor, _ t: Tensor) {
            optimizer.zeroGrad()
            softmaxCrossEntropy(net(x), t).backward()
            optimizer.step()
        }
        step(model, optimizer, input, labels)
        step(reference, expected, input, labels)
        try model.move(to: gpu)
        step(model, optimizer, try input.to(device: gpu), try labels.to(device: gpu))
        step(reference, expected, input, labels)
        try model.move(to: .cpu)
        step(model, optimizer, input, labels)
        step(reference, expected, input, labels)
        #expect(model.device == .cpu)
        #expect(maxDifference(model.W.scalars, reference.W.scalars) <= 1e-6)
        #expect(maxDifference(model.b!.scalars, reference.b!.scalars) <= 1e-6)
    }

    @Test func loadingAStateDictKeepsTheStateOnTheDevice() throws {
        let trained = try train(.adam, on: gpu)
        let weight = try Tensor(lcgValues(12, seed: 1), shape: [3, 4]).to(device: gpu).requiringGrad()
        let other = try Tensor(lcgValues(11, seed: 2), shape: [11]).to(device: gpu).requiringGrad()
        let restored = OptimizerKind.adam.make([("a", weight), ("b", other)], learningRate: 0.05, weightDecay: 0.1)
        try restored.loadStateDict(trained.optimizer.stateDict())
        let state = restored.stateDict()
        for ((key, expected), (_, actual)) in zip(trained.optimizer.stateDict(), state) {
            #expect(expected.scalars == actual.scalars, "\(key)")
        }
    }
}

extension OptimizerKind {
    /// Whether the device update of this optimizer is a fused step (``FusedOptimizerRule``).
    var isFused: Bool {
        switch self {
        case .sgd, .momentum, .nesterov, .adam, .adamW: return true
        case .rmsprop, .adaGrad: return false
        }
    }
}

/// The largest elementwise difference of two equally long arrays (equal infinities count as 0).
private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { $0 == $1 ? 0 : Swift.abs($0 - $1) }.max() ?? 0
}

/// A float tensor of `shape` with ``lcgValues(_:seed:)``.
private func lcgTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    Tensor(lcgValues(shape.reduce(1, *), seed: seed), shape: shape)
}
