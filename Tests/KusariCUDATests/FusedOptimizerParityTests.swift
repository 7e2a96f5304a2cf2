import Foundation
import Kusari
import KusariCUDA
import KusariOptim
import Testing

/// The fused optimizer kernels (``KernelSource/optimizer``) against KusariOptim's CPU kernels,
/// where a GPU is present (skipped with a message otherwise). The kernels avoid fused
/// multiply-adds and use IEEE division and square root, so the results must be bit-identical.
@Suite(.serialized)
struct FusedOptimizerParityTests {
    /// The optimizers with a fused device step.
    enum Kind: String, CaseIterable, Sendable {
        case sgd, momentum, nesterov, adam, adamW

        /// An optimizer of this kind with non-default hyper-parameters and weight decay.
        func make(_ parameters: [(String, Tensor)]) -> Optimizer {
            switch self {
            case .sgd: return SGD(parameters: parameters, learningRate: 0.05, weightDecay: 0.01)
            case .momentum:
                return MomentumSGD(parameters: parameters, learningRate: 0.05, momentum: 0.8, weightDecay: 0.01)
            case .nesterov:
                return MomentumSGD(parameters: parameters, learningRate: 0.05, momentum: 0.8, nesterov: true,
                                   weightDecay: 0.01)
            case .adam:
                return Adam(parameters: parameters, learningRate: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6,
                            weightDecay: 0.01)
            case .adamW:
                return AdamW(parameters: parameters, learningRate: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6,
                             weightDecay: 0.1)
            }
        }
    }

    /// Sizes with a partial last block on the GPU and a scalar tail in the CPU's SIMD loops.
    let shapes = [[37, 29], [1001]]

    /// The weights every run starts from.
    private func initialWeights() -> [Tensor] {
        shapes.enumerated().map { index, shape in Tensor.normal(shape, generator: Generator(seed: UInt64(index + 1))) }
    }

    /// Five steps of `kind` on `device` from ``initialWeights()`` with the same gradients (the
    /// second parameter has no gradient in step 3): the weights and the state dict, on the host.
    private func train(_ kind: Kind, on device: Device) throws -> (weights: [[Float]], state: [(String, Tensor)]) {
        let parameters = try initialWeights().map { try $0.to(device: device).requiringGrad() }
        let optimizer = kind.make([("a", parameters[0]), ("b", parameters[1])])
        let gradients = Generator(seed: 42)
        for step in 0..<5 {
            for (index, parameter) in parameters.enumerated() {
                let gradient = Tensor.normal(shapes[index], std: 2, generator: gradients)
                parameter.grad = index == 1 && step == 3 ? nil : try gradient.to(device: device)
            }
            optimizer.step()
        }
        return (parameters.map(\.scalars), optimizer.stateDict())
    }

    @Test(arguments: Kind.allCases)
    func severalStepsMatchTheCPUBitForBit(_ kind: Kind) throws {
        guard let backend = GPU.orSkip("the fused \(kind.rawValue) steps")?.backend else { return }
        let cpu = try train(kind, on: .cpu)
        let gpu = try train(kind, on: backend.device)
        #expect(cpu.weights != initialWeights().map(\.scalars))
        for (index, (expected, actual)) in zip(cpu.weights, gpu.weights).enumerated() {
            #expect(actual == expected, "\(kind.rawValue): parameter \(index) differs in \(differences(expected, actual)) elements")
        }
        #expect(cpu.state.map(\.0) == gpu.state.map(\.0))
        for ((key, expected), (_, actual)) in zip(cpu.state, gpu.state) {
            #expect(actual.scalars == expected.scalars, "\(kind.rawValue): \(key)")
        }
    }

    /// One kernel launch per rule, straight through ``CUDABackend/optimizerStep(_:parameter:gradient:state:)``,
    /// against the optimizer's CPU kernel from the same non-zero state, with a gradient scale
    /// (as gradient clipping gives) and weight decay.
    @Test(arguments: Kind.allCases)
    func oneFusedKernelMatchesTheCPUKernel(_ kind: Kind) throws {
        guard let backend = GPU.orSkip("the fused \(kind.rawValue) kernel")?.backend else { return }
        let count = 4099
        let generator = Generator(seed: 7)
        let weights = Tensor.normal([count], generator: generator)
        let gradient = Tensor.normal([count], std: 3, generator: generator)
        let optimizer = kind.make([("w", weights)])
        // Momentum's velocity may have any sign; Adam's second moment is non-negative.
        let state = optimizer.stateNames.indices.map { slot in
            let values = Tensor.normal([count], generator: generator)
            return slot == 1 ? values * values : values
        }
        let context = UpdateContext(learningRate: optimizer.learningRate, weightDecay: optimizer.weightDecay,
                                    gradientScale: 0.37, step: 3)
        let rule = fusedRule(kind, optimizer, context)

        let deviceWeights = try weights.to(device: backend.device)
        let deviceState = try state.map { try $0.to(device: backend.device) }
        try backend.optimizerStep(rule, parameter: deviceWeights, gradient: try gradient.to(device: backend.device),
                                  state: deviceState)

        let hostWeights = weights.hostCopy(), hostState = state.map { $0.hostCopy() }
        let pointers = hostState.map { $0.storage.data.assumingMemoryBound(to: Float.self) + $0.offset }
        hostWeights.withUnsafeMutableFloats { p in
            gradient.withUnsafeFloats { g in
                optimizer.update(parameter: p.baseAddress!, gradient: g.baseAddress!, state: pointers,
                                 range: 0..<count, context: context)
            }
        }
        #expect(hostWeights.scalars != weights.scalars)
        #expect(deviceWeights.scalars == hostWeights.scalars,
                "\(kind.rawValue): \(differences(hostWeights.scalars, deviceWeights.scalars)) weights differ")
        for (slot, (expected, actual)) in zip(hostState, deviceState).enumerated() {
            #expect(actual.scalars == expected.scalars, "\(kind.rawValue): state buffer \(slot)")
        }
    }

    @Test func theNonFiniteFlagFindsEveryInfinityAndNaN() throws {
        guard let backend = GPU.orSkip("the non-finite scan")?.backend else { return }
        try Self.checkNonFiniteFlag(on: backend)
    }

    @Test func theEmulatedNonFiniteFlagFindsEveryInfinityAndNaN() throws {
        guard let backend = try EmulatedOpParityTests.gpu.get() else { return }
        try Self.checkNonFiniteFlag(on: backend)
    }

    /// ``CUDABackend/nonFiniteFlag(_:)`` over a long tensor (the last element tested, past a
    /// whole number of blocks), a short and an empty one: 0 for finite values up to the largest
    /// float, 1 for an infinity or a NaN anywhere; refused for operands it cannot scan.
    static func checkNonFiniteFlag(on backend: CUDABackend) throws {
        let device = backend.device
        var long = Tensor.normal([4099], generator: Generator(seed: 3)).scalars
        long[17] = .greatestFiniteMagnitude
        let short: [Float] = [1, -2, 3, 4, 5, 6, -Float.greatestFiniteMagnitude]
        func flag(_ long: [Float], _ short: [Float]) throws -> [Float] {
            let tensors = try [Tensor(long, shape: [long.count]), Tensor(short, shape: [short.count]), Tensor.zeros([0])]
                .map { try $0.to(device: device) }
            return try backend.nonFiniteFlag(tensors).to(device: .cpu).scalars
        }
        #expect(try flag(long, short) == [0])
        #expect(try backend.nonFiniteFlag([]).to(device: .cpu).scalars == [0])
        for bad in [Float.infinity, -.infinity, .nan] {
            var badLong = long, badShort = short
            badLong[4098] = bad
            badShort[0] = bad
            #expect(try flag(badLong, short) == [1], "\(bad) at the end of the long tensor")
            #expect(try flag(long, badShort) == [1], "\(bad) in the short tensor")
        }
        #expect(throws: KusariError.self) { try backend.nonFiniteFlag([Tensor.ones([3])]) }
        #expect(throws: KusariError.self) { try backend.nonFiniteFlag([try Tensor.ones([3]).to(device: device).to(.int32)]) }
        #expect(throws: KusariError.self) {
            try backend.nonFiniteFlag([try Tensor.ones([3, 2]).to(device: device).permute([1, 0])])
        }
    }

    @Test func badOperandsThrow() throws {
        guard let backend = GPU.orSkip("the fused-step argument checks")?.backend else { return }
        let device = backend.device
        let weights = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).to(device: device)
        let gradient = try Tensor.ones([2, 3]).to(device: device)
        let sgd = FusedOptimizerRule.sgd(learningRate: 0.1, scale: 1, decay: 0)
        let adam = FusedOptimizerRule.adam(scale: 1, decay: 0, shrink: 1, beta1: 0.9, beta2: 0.999, stepSize: 0.01,
                                           inverseRootCorrection2: 1, eps: 1e-8)
        #expect(throws: KusariError.self) {
            try backend.optimizerStep(adam, parameter: weights, gradient: gradient, state: [])
        }
        #expect(throws: KusariError.self) {
            try backend.optimizerStep(sgd, parameter: weights, gradient: Tensor.ones([2, 3]), state: [])
        }
        #expect(throws: KusariError.self) {
            try backend.optimizerStep(sgd, parameter: weights, gradient: try Tensor.ones([6]).to(device: device),
                                      state: [])
        }
        #expect(throws: KusariError.self) {
            try backend.optimizerStep(sgd, parameter: weights,
                                      gradient: try Tensor.ones([3, 2]).to(device: device).permute([1, 0]), state: [])
        }
        #expect(throws: KusariError.self) {
            try backend.optimizerStep(sgd, parameter: weights.to(.int32), gradient: gradient, state: [])
        }
        #expect(weights.scalars == [1, 2, 3, 4, 5, 6])
    }

    /// The rule `kind`'s optimizer gives its fused kernel for `context`, built here from the
    /// documented formulas (Adam's bias corrections in double precision, as the CPU computes them).
    private func fusedRule(_ kind: Kind, _ optimizer: Optimizer, _ context: UpdateContext) -> FusedOptimizerRule {
        let lr = context.learningRate, scale = context.gradientScale, decay = context.weightDecay
        switch kind {
        case .sgd:
            return .sgd(learningRate: lr, scale: scale, decay: decay)
        case .momentum, .nesterov:
            let momentum = (optimizer as! MomentumSGD).momentum
            return .momentum(learningRate: lr, scale: scale, decay: decay, momentum: momentum,
                             nesterov: kind == .nesterov)
        case .adam, .adamW:
            let adam = optimizer as! AdaptiveMomentOptimizer
            let t = Double(context.step)
            let correction1 = 1 - Foundation.pow(Double(adam.beta1), t)
            let correction2 = 1 - Foundation.pow(Double(adam.beta2), t)
            let decoupled = kind == .adamW
            return .adam(scale: scale, decay: decoupled ? 0 : decay, shrink: decoupled ? 1 - lr * decay : 1,
                         beta1: adam.beta1, beta2: adam.beta2, stepSize: Float(Double(lr) / correction1),
                         inverseRootCorrection2: Float(1 / correction2.squareRoot()), eps: adam.eps)
        }
    }
}

/// How many elements of two equally long arrays differ.
private func differences(_ a: [Float], _ b: [Float]) -> Int {
    zip(a, b).filter { $0 != $1 }.count
}
