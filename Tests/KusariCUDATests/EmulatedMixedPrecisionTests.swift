import Kusari
import KusariModels
import KusariNN
import KusariOptim
import KusariTestSupport
import Testing

/// Mixed-precision training on the emulated GPU of ``EmulatedOpParityTests`` against the same on
/// the CPU: three MomentumSGD steps of the Theano CNN under ``Autocast``, bfloat16 as it is and
/// float16 through a ``DynamicLossScaler``, from the same weights and data. Both sides convert to
/// the 16-bit type the same way and accumulate in float32, but the products sum in another order,
/// which can move a value across a 16-bit rounding boundary: losses within 5e-3 relative for
/// bfloat16 (8-bit significand) and 1e-3 for float16, weights within 1e-3 + 1e-2·|w|. The loss
/// scale must evolve identically. Both runs hold ``ThreadCountGuard``, so the CPU sums split alike.
@Suite(.serialized)
struct EmulatedMixedPrecisionTests {
    private struct Run {
        let losses: [Float]
        let scales: [Float]
        let weights: [(String, [Float])]
    }

    @Test(arguments: [DType.bfloat16, .float16])
    func stepsMatchTheCPU(_ dtype: DType) throws {
        guard let backend = try EmulatedOpParityTests.gpu.get() else { return }
        let model = BenchmarkModel.theanoCNN, generator = Generator(seed: 9)
        let network = model.makeNetwork(generator: generator)
        let images = Tensor.normal([8] + model.inputShape, generator: generator)
        let labels = Tensor.randint([8], low: 0, high: model.classes, generator: generator)
        /// Three steps from `network`'s weights on `device` (the Theano CNN has no dropout, so
        /// nothing draws from the shared `Generator.default`).
        func train(on device: Device) throws -> Run {
            let twin = model.makeNetwork()
            try twin.loadStateDict(network.stateDict())
            twin.train()
            try twin.move(to: device)
            let optimizer = MomentumSGD(twin, learningRate: 0.01, momentum: 0.9)
            let scaler = DynamicLossScaler(growthInterval: 2)
            let (x, y) = (try images.to(device: device), try labels.to(device: device))
            var losses: [Float] = [], scales: [Float] = []
            for _ in 0..<3 {
                optimizer.zeroGrad()
                let loss = Autocast.run(dtype) { softmaxCrossEntropy(twin(x), y) }
                if dtype == .float16 {
                    scaler.scaled(loss).backward()
                    _ = scaler.step(optimizer)
                } else {
                    loss.backward()
                    optimizer.step()
                }
                losses.append(loss.item())
                scales.append(scaler.scale)
            }
            return Run(losses: losses, scales: scales, weights: twin.namedParameters().map { ($0.0, $0.1.scalars) })
        }
        let (cpu, gpu) = try ThreadCountGuard.run { (try train(on: .cpu), try train(on: backend.device)) }
        #expect(gpu.scales == cpu.scales, "\(dtype) loss scales \(gpu.scales) vs \(cpu.scales)")
        let lossTolerance: Float = dtype == .bfloat16 ? 5e-3 : 1e-3
        for (got, want) in zip(gpu.losses, cpu.losses) {
            #expect(Swift.abs(got - want) <= lossTolerance * Swift.abs(want), "\(dtype) losses \(gpu.losses) vs \(cpu.losses)")
        }
        for ((name, want), (_, got)) in zip(cpu.weights, gpu.weights) {
            let worst = zip(want, got).map { Swift.abs($0 - $1) - 1e-2 * Swift.abs($0) }.max() ?? 0
            #expect(worst <= 1e-3, "\(dtype) \(name) differs by \(worst) beyond the tolerance")
        }
    }
}
