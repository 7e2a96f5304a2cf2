import Foundation
import Kusari
import KusariNN
import KusariTestSupport
import Testing

/// The emulated GPU these tests move modules to (its own ordinal, so other suites' devices do not mix in).
private let emulated = EmulatedDevice.install(ordinal: 15)
private let gpu = emulated.device

/// `Module.move(to:)`, `Module.device`, and checkpoints of models on a (emulated) GPU.
struct ModuleDeviceTests {
    /// conv → BN → ReLU → pool → flatten → linear, with fixed weights.
    func makeCNN() -> Sequential {
        let generator = Generator(seed: 3)
        return Sequential(Conv2d(2, 3, kernelSize: 3, padding: 1, generator: generator), BatchNorm(3), ReLU(),
                          MaxPool2d(kernelSize: 2), Flatten(), Linear(12, 4, generator: generator))
    }

    @Test func moveTakesEveryParameterAndBufferAndKeepsTheirIdentity() throws {
        let model = makeCNN()
        let tensors = model.stateDict().map(\.1)
        #expect(model.device == .cpu)
        try model.move(to: gpu)
        #expect(model.device == gpu)
        #expect(model.stateDict().allSatisfy { $0.1.device == gpu })
        #expect(zip(tensors, model.stateDict().map(\.1)).allSatisfy { $0 === $1 })
        #expect(model.parameters().allSatisfy { $0.requiresGrad })
        try model.move(to: .cpu)
        #expect(model.stateDict().allSatisfy { $0.1.device == .cpu })
        #expect(Module().device == .cpu)
    }

    @Test func moveKeepsValuesAndGradients() throws {
        let model = Linear(3, 2, generator: Generator(seed: 1))
        let values = model.W.scalars
        model.W.grad = Tensor(lcgValues(6, seed: 4), shape: [2, 3])
        try model.move(to: gpu)
        #expect(model.W.scalars == values)
        #expect(model.W.grad?.device == gpu)
        #expect(model.W.grad?.scalars == lcgValues(6, seed: 4))
    }

    @Test func moveToAnUnservedDeviceThrows() {
        #expect(throws: KusariError.self) { try Linear(2, 2).move(to: .cuda(63)) }
    }

    @Test func forwardOnTheDeviceMatchesTheCPU() throws {
        let model = makeCNN().eval(), moved = makeCNN().eval()
        try moved.move(to: gpu)
        let input = lcgTensor([2, 2, 4, 4], seed: 5)
        let expected = model(input).scalars
        let output = moved(try input.to(device: gpu))
        #expect(output.device == gpu)
        #expect(maxAbsDiff(output.scalars, expected) <= 1e-5)
    }

    @Test func checkpointRoundTripBetweenDeviceAndCPU() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kusari-device-\(UUID().uuidString).npz")
        defer { try? FileManager.default.removeItem(at: url) }
        let trained = makeCNN()
        _ = trained(lcgTensor([2, 2, 4, 4], seed: 6))  // training mode: moves BN's running statistics
        try trained.move(to: gpu)
        #expect(trained.stateDict().allSatisfy { $0.1.device == gpu })
        try trained.save(to: url)

        let onCPU = Sequential(Conv2d(2, 3, kernelSize: 3, padding: 1), BatchNorm(3), ReLU(), MaxPool2d(kernelSize: 2),
                               Flatten(), Linear(12, 4))
        try onCPU.load(from: url)
        for ((key, expected), (_, actual)) in zip(trained.stateDict(), onCPU.stateDict()) {
            #expect(actual.device == .cpu)
            #expect(actual.scalars == expected.scalars, "\(key)")
        }

        let onDevice = Sequential(Conv2d(2, 3, kernelSize: 3, padding: 1), BatchNorm(3), ReLU(),
                                  MaxPool2d(kernelSize: 2), Flatten(), Linear(12, 4))
        try onDevice.move(to: gpu)
        try onDevice.load(from: url)
        #expect(onDevice.device == gpu)
        for ((key, expected), (_, actual)) in zip(onCPU.stateDict(), onDevice.stateDict()) {
            #expect(actual.device == gpu, "\(key) left the device")
            #expect(actual.scalars == expected.scalars, "\(key)")
        }
    }

    @Test func negativeSamplesFollowTheInputsDevice() throws {
        let loss = NegativeSampling(3, counts: [5, 3, 2, 1], sampleSize: 2, generator: Generator(seed: 2))
        let reference = NegativeSampling(3, counts: [5, 3, 2, 1], sampleSize: 2, generator: Generator(seed: 2))
        try loss.move(to: gpu)
        let input = lcgTensor([2, 3], seed: 8)
        let targets = Tensor([Int32(1), 3], shape: [2])
        let expected = reference(input, targets).item()
        let actual = loss(try input.to(device: gpu), try targets.to(device: gpu))
        #expect(actual.device == gpu)
        #expect(Swift.abs(actual.item() - expected) <= 1e-5)
    }
}
