import Foundation
import Kusari
import KusariModels
import KusariNN
import KusariOptim
import Testing
@testable import KusariCUDA

/// How often the host waits for the GPU, counted on stand-in GPUs of its own (the
/// ``RecordingDriver`` counts each stream's synchronisations and copies): a stall per op would
/// leave a real GPU idle between kernels, and a device allocation per step would go through
/// `cuMemAlloc`, which synchronises the device. A steady training step (after the kernels are
/// compiled, the cuDNN algorithms chosen and the allocator's cache filled) must wait once, for
/// its loss, with the flag of its label check read back in that same wait.
@Suite(.serialized)
struct HostWaitTests {
    /// Kernels recorded, not run: what the host does does not depend on what they compute.
    static let recordingGPU = Result { try standInGPU(ordinal: StandInOrdinal.hostWaits, "the host-wait counts") }
    /// Kernels run, for the label check a kernel makes.
    static let labelCheckGPU = Result { try emulatedGPU(ordinal: StandInOrdinal.emulatedHostWaits, "the deferred label check") }

    @Test(arguments: BenchmarkModel.allCases)
    func aSteadyTrainingStepWaitsOnceAndAllocatesNothing(_ model: BenchmarkModel) throws {
        guard let backend = try Self.recordingGPU.get() else { return }
        let generator = Generator(seed: 1)
        let network = model.makeNetwork(generator: generator)
        network.train()
        try network.move(to: backend.device)
        let images = try Tensor.normal([2] + model.inputShape, generator: generator).to(device: backend.device)
        let labels = try Tensor.randint([2], low: 0, high: model.classes, generator: generator).to(device: backend.device)
        let optimizer = MomentumSGD(network, learningRate: 0.01, momentum: 0.9)
        func step() throws {
            optimizer.zeroGrad()
            let loss = softmaxCrossEntropy(network(images), labels)
            loss.backward()
            optimizer.step()
            _ = try loss.to(device: .cpu).item()
        }
        _ = try step()
        let allocations = backend.context.allocator.statistics.backendAllocations
        let before = RecordingDriver.traffic(on: backend.context.stream)
        _ = try step()
        let after = RecordingDriver.traffic(on: backend.context.stream)
        #expect(after.synchronizations - before.synchronizations == 1, "\(model.rawValue): host waits per step")
        #expect(after.copiesToHost - before.copiesToHost == 2, "\(model.rawValue): the loss and the label check's flag")
        #expect(after.copiesToDevice == before.copiesToDevice, "\(model.rawValue): uploads per step")
        #expect(backend.context.allocator.statistics.backendAllocations == allocations,
                "\(model.rawValue): device allocations per step")
        #expect(after.launches > before.launches)
    }

    @Test func aBadLabelIsFoundInTheWaitOfTheNextRead() throws {
        guard let backend = try Self.labelCheckGPU.get() else { return }
        let logits = try Tensor.zeros([3, 4]).to(device: backend.device)
        let good = try Tensor([Int32(1), 3, 0], shape: [3]).to(device: backend.device)
        let before = RecordingDriver.traffic(on: backend.context.stream)
        let losses = try softmaxCrossEntropy(logits, good, reduction: .none).to(device: .cpu).scalars
        #expect(losses.allSatisfy { Swift.abs($0 - logf(4)) < 1e-6 })
        #expect(RecordingDriver.traffic(on: backend.context.stream).synchronizations - before.synchronizations == 1)
        try DeferredChecksTests.checkBadLabelsAndIndices(on: backend)
    }
}
