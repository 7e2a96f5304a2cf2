import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim
import KusariTestSupport
import Testing
@testable import KusariTrain

/// The emulated GPU these tests train on (its own ordinal, so other suites' devices do not mix in).
private let emulated = EmulatedDevice.install(ordinal: 9)
private let gpu = emulated.device

/// Training on a (emulated) GPU gives the CPU's losses and weights: single steps of an MLP and a
/// small CNN, and the updater, evaluator and parameter average inside a trainer.
struct DeviceTrainingTests {
    func makeMLP() -> Sequential {
        let generator = Generator(seed: 11)
        return Sequential(Linear(4, 8, generator: generator), Tanh(), Linear(8, 3, generator: generator))
    }

    func makeCNN() -> Sequential {
        let generator = Generator(seed: 12)
        return Sequential(Conv2d(2, 4, kernelSize: 3, padding: 1, generator: generator), BatchNorm(4), ReLU(),
                          MaxPool2d(kernelSize: 2), Dropout(0), Flatten(), Linear(16, 3, generator: generator))
    }

    /// One step of `optimizer` on `model` from `inputs`/`labels`: returns the loss.
    func step(_ model: Sequential, _ optimizer: Optimizer, _ inputs: Tensor, _ labels: Tensor) -> Float {
        optimizer.zeroGrad()
        let loss = softmaxCrossEntropy(model(inputs), labels)
        loss.backward()
        optimizer.step()
        return loss.item()
    }

    /// Two steps on the CPU and on the device; the losses, every parameter and every buffer agree.
    func expectSameTraining(_ make: () -> Sequential, inputShape: [Int],
                            optimizer makeOptimizer: (Module) -> Optimizer) throws {
        let inputs = Tensor(lcgValues(inputShape.reduce(1, *), seed: 21), shape: inputShape)
        let labels = Tensor((0..<inputShape[0]).map { Int32($0 % 3) }, shape: [inputShape[0]])
        let host = make(), moved = make()
        try moved.move(to: gpu)
        let hostOptimizer = makeOptimizer(host), deviceOptimizer = makeOptimizer(moved)
        let deviceInputs = try inputs.to(device: gpu), deviceLabels = try labels.to(device: gpu)
        for _ in 0..<2 {
            let expected = step(host, hostOptimizer, inputs, labels)
            let actual = step(moved, deviceOptimizer, deviceInputs, deviceLabels)
            #expect(Swift.abs(actual - expected) <= 1e-5, "loss \(actual) on the device, \(expected) on the CPU")
        }
        #expect(moved.stateDict().allSatisfy { $0.1.device == gpu })
        for ((key, expected), (_, actual)) in zip(host.stateDict(), moved.stateDict()) {
            #expect(maxDifference(actual.scalars, expected.scalars) <= 1e-5, "\(key)")
        }
    }

    @Test func mlpStepMatchesTheCPU() throws {
        try expectSameTraining(makeMLP, inputShape: [6, 4]) { MomentumSGD($0, learningRate: 0.1) }
    }

    @Test func cnnStepMatchesTheCPU() throws {
        // Not Adam: the convolution's bias feeds batch norm, so its true gradient is zero and Adam
        // would blow rounding noise (different summation orders) up to full-size steps.
        try expectSameTraining(makeCNN, inputShape: [4, 2, 4, 4]) { MomentumSGD($0, learningRate: 0.1) }
        #expect(emulated.calls["convolutionBackward", default: 0] > 0)
    }

    /// A short training run with evaluation every epoch and a parameter average; returns the log.
    func trainBriefly(on device: Device) throws -> (log: [Observation], model: Sequential, ema: ParameterEMA) {
        let data = syntheticData(count: 12)
        let training = ArraySource(inputs: data.inputs, labels: data.labels, batchSize: 4, shuffle: true,
                                   repeating: true)
        let validation = ArraySource(inputs: data.inputs, labels: data.labels, batchSize: 5, shuffle: false,
                                     repeating: false)
        let model = makeMLP()
        let optimizer = MomentumSGD(model, learningRate: 0.1)  // state made on the CPU, follows the model
        let ema = ParameterEMA(model, decay: 0.9)
        try model.move(to: device)
        let updater = StandardUpdater(source: training, model: model, optimizer: optimizer, device: device)
        let trainer = Trainer(updater: updater, stopTrigger: .epochs(2), out: try temporaryDirectory())
        trainer.generators = [:]
        let evaluator = Evaluator(source: validation, model: model, device: device)
        ema.useForEvaluation(evaluator)
        trainer.extend(ema)
        trainer.extend(evaluator)
        let log = LogReport(trigger: .iterations(1), logName: nil)
        trainer.extend(log)
        try trainer.run()
        return (log.log, model, ema)
    }

    @Test func trainerRunsAndReportsOnTheDevice() throws {
        let host = try trainBriefly(on: .cpu)
        let device = try trainBriefly(on: gpu)
        #expect(device.log.count == 6)
        #expect(device.model.device == gpu)
        for (expected, actual) in zip(host.log, device.log) {
            for key in ["main/loss", "main/accuracy"] {
                let a = try #require(actual[key]), e = try #require(expected[key])
                #expect(Swift.abs(a - e) <= 1e-5, "\(key): \(a) on the device, \(e) on the CPU")
            }
        }
        for key in ["validation/main/loss", "validation/main/accuracy"] {
            let a = try #require(device.log.last?[key]), e = try #require(host.log.last?[key])
            #expect(Swift.abs(a - e) <= 1e-5, "\(key)")
        }
        for ((name, expected), (_, actual)) in zip(host.ema.averages, device.ema.averages) {
            #expect(actual.device == .cpu)
            #expect(maxDifference(actual.scalars, expected.scalars) <= 1e-5, "average of \(name)")
        }
        // Swapping the averages in and out on the device restores the trained values bit for bit.
        let trained = device.model.parameters().map(\.scalars)
        device.ema.withAveragedParameters {
            #expect(device.model.parameters().map(\.scalars) != trained)
        }
        #expect(device.model.parameters().map(\.scalars) == trained)
    }

    @Test func updaterStateDictHoldsHostData() throws {
        let data = syntheticData(count: 8)
        let source = ArraySource(inputs: data.inputs, labels: data.labels, batchSize: 4, shuffle: false, repeating: true)
        let model = makeMLP()
        try model.move(to: gpu)
        let updater = StandardUpdater(source: source, model: model, optimizer: Adam(model), device: gpu)
        try updater.update(reporter: Reporter())
        let state = updater.stateDict()
        #expect(state.allSatisfy { $0.1.device == .cpu })
        let restored = makeMLP()
        try restored.move(to: gpu)
        let other = StandardUpdater(source: ArraySource(inputs: data.inputs, labels: data.labels, batchSize: 4,
                                                        shuffle: false, repeating: true),
                                    model: restored, optimizer: Adam(restored), device: gpu)
        try other.loadStateDict(state)
        #expect(restored.device == gpu)
        for ((key, expected), (_, actual)) in zip(model.stateDict(), restored.stateDict()) {
            #expect(actual.scalars == expected.scalars, "\(key)")
        }
    }

    @Test func batchesMoveToTheDevice() throws {
        let batch = Batch(inputs: Tensor([1, 2, 3, 4], shape: [2, 2]), labels: Tensor([Int32(0), 1], shape: [2]))
        let moved = try batch.to(device: gpu)
        #expect(moved.inputs.device == gpu && moved.labels.device == gpu)
        #expect(moved.labels.toArray(of: Int32.self) == [0, 1])
        #expect(try batch.to(device: .cpu).inputs === batch.inputs)
    }
}

/// The largest elementwise difference of two equally long arrays (equal infinities count as 0).
private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { $0 == $1 ? 0 : Swift.abs($0 - $1) }.max() ?? 0
}

/// Deterministic values in [-1, 1) from a small LCG.
private func lcgValues(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float((state >> 40) & 0xFFFFFF) / Float(1 << 23) - 1
    }
}
