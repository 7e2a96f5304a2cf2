import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim
import Testing
@testable import KusariTrain

/// A small CNN over the synthetic data's 4 features seen as a 1×2×2 image: a convolution and two
/// fully connected layers, so that both autocast paths (convolution, matrix product) are trained.
private func makeModel() -> Sequential {
    let generator = Generator(seed: 5)
    return Sequential(Lambda { $0.reshape([-1, 1, 2, 2]) }, Conv2d(1, 8, kernelSize: 2, generator: generator), ReLU(),
                      Flatten(), Linear(8, 16, generator: generator), ReLU(), Linear(16, 3, generator: generator))
}

private let data = syntheticData(count: 60)

/// A training set-up: 60 examples in shuffled batches of 10, MomentumSGD. `lossFactor`
/// multiplies the loss (and divides the learning rate, so the updates keep their size).
private struct Run {
    let model: Sequential
    let optimizer: Optimizer
    let updater: StandardUpdater

    init(_ precision: DType?, lossFactor: Float = 1, lossScaling: DynamicLossScaler.Settings = .init()) {
        let source = ArraySource(inputs: data.inputs, labels: data.labels, batchSize: 10, shuffle: true,
                                 repeating: true, seed: 11)
        model = makeModel()
        optimizer = MomentumSGD(model, learningRate: 0.1 / lossFactor, momentum: 0.9)
        let classifier = ClassifierLoss()
        updater = StandardUpdater(source: source, model: model, optimizer: optimizer,
                                  loss: { classifier($0, $1, $2) * lossFactor }, mixedPrecision: precision,
                                  lossScaling: lossScaling)
    }

    /// Runs `count` updates, returning each iteration's observation.
    func train(_ count: Int) throws -> [Observation] {
        let reporter = Reporter()
        return try (0..<count).map { _ in
            reporter.startObservation()
            try updater.update(reporter: reporter)
            return reporter.observation
        }
    }

    /// The float32 mean cross-entropy of the model on all 60 examples.
    var fullLoss: Double {
        let inputs = Tensor(data.inputs, shape: [60, 4]), labels = Tensor(data.labels, shape: [60])
        return Double(withNoGrad { softmaxCrossEntropy(model(inputs), labels) }.item())
    }
}

private func weightBits(_ model: Module) -> [String: [UInt32]] {
    bits(model.stateDict())
}

struct MixedPrecisionTrainingTests {
    /// 48 steps (8 epochs) with bfloat16 and float16 autocast reach the float32 run's loss on the
    /// whole data within 0.005 (absolute; about 2e-5 is seen for bfloat16, 2e-6 for float16),
    /// after training has more than halved it, and the first batch losses agree within 0.003
    /// (bfloat16's relative precision is 0.004); the runs are not bit-identical to float32
    /// (autocast did round the operands).
    @Test(arguments: [DType.bfloat16, .float16])
    func autocastTrainingTracksFloat32(precision: DType) throws {
        let reference = Run(nil)
        let initial = reference.fullLoss
        let referenceLog = try reference.train(48)
        let run = Run(precision)
        #expect(run.fullLoss == initial)
        let log = try run.train(48)

        #expect(reference.fullLoss < 0.5 * initial, "float32 loss \(initial) → \(reference.fullLoss)")
        #expect(Swift.abs(run.fullLoss - reference.fullLoss) <= 0.005,
                "\(precision): loss \(run.fullLoss), float32 \(reference.fullLoss) (initial \(initial))")
        #expect(weightBits(run.model) != weightBits(reference.model))
        // The reported batch losses agree too, step by step early on.
        for step in 0..<4 {
            let amp = try #require(log[step]["main/loss"]), float = try #require(referenceLog[step]["main/loss"])
            #expect(Swift.abs(amp - float) <= 0.003, "step \(step): \(precision) \(amp), float32 \(float)")
        }
        #expect(referenceLog.allSatisfy { $0["main/loss_scale"] == nil })
        if precision == .float16 {
            let scales = log.compactMap { $0["main/loss_scale"] }
            #expect(scales.count == 48)
            #expect(scales.first == 65536)
            #expect(run.updater.lossScaler != nil)
        } else {
            #expect(log.allSatisfy { $0["main/loss_scale"] == nil })
            #expect(run.updater.lossScaler == nil)
        }
    }

    /// A loss 4096 times larger overflows float16 gradients at scale 65536: those steps are
    /// skipped (weights untouched) and the reported scale halves until the gradients fit (about
    /// ten halvings); training then proceeds, with finite weights and a falling loss.
    @Test func float16OverflowBacksOffAndSkipsSteps() throws {
        let run = Run(.float16, lossFactor: 4096)
        let initial = run.fullLoss
        let start = weightBits(run.model)
        let first = try run.train(1)
        #expect(first[0]["main/loss_scale"] == 65536)
        #expect(run.updater.lossScaler?.skippedSteps == 1)
        #expect(weightBits(run.model) == start)
        #expect(run.optimizer.stepCount == 0)

        let log = try run.train(29)
        let scaler = try #require(run.updater.lossScaler)
        let scales = (first + log).compactMap { $0["main/loss_scale"] }
        #expect(scales.count == 30)
        #expect(scaler.skippedSteps >= 8 && scaler.skippedSteps <= 15, "\(scaler.skippedSteps) skipped")
        #expect(run.optimizer.stepCount == 30 - scaler.skippedSteps)
        #expect(scaler.scale < 65536)
        // Every reported scale is a power of two no larger than the initial one, halving on each skip.
        for (previous, next) in zip(scales, scales.dropFirst()) {
            #expect(next == previous || next == previous / 2, "\(previous) → \(next)")
        }
        #expect(weightBits(run.model) != start)
        #expect(run.model.parameters().allSatisfy { $0.scalars.allSatisfy(\.isFinite) })
        #expect(run.fullLoss < 0.8 * initial, "loss \(initial) → \(run.fullLoss)")
    }

    /// The same 4096-times larger loss from a loss scale of 16 (`kusari train --loss-scale 16
    /// --loss-scale-growth-interval 4`): no step overflows, and the scale doubles every 4 steps.
    @Test func float16StartsFromTheGivenLossScaling() throws {
        let run = Run(.float16, lossFactor: 4096, lossScaling: .init(initialScale: 16, growthInterval: 4))
        let scales = try run.train(9).compactMap { $0["main/loss_scale"] }
        #expect(scales == [16, 16, 16, 16, 32, 32, 32, 32, 64])
        #expect(run.updater.lossScaler?.skippedSteps == 0)
        #expect(run.optimizer.stepCount == 9)
    }

    /// A float16 run interrupted by a snapshot and resumed matches the uninterrupted run bit for
    /// bit; the snapshot carries the loss scaler's state (`updater/scaler:main/…`).
    @Test func snapshotKeepsScalerState() throws {
        let uninterrupted = Run(.float16, lossFactor: 4096)
        _ = try uninterrupted.train(20)

        let first = Run(.float16, lossFactor: 4096)
        _ = try first.train(10)
        let firstScaler = try #require(first.updater.lossScaler)
        #expect(firstScaler.scale < 65536)
        let out = try temporaryDirectory()
        let snapshot = out.appendingPathComponent("snapshot.npz")
        try Trainer(updater: first.updater, stopTrigger: .iterations(20), out: out).saveSnapshot(to: snapshot)
        let stored = try NPZ.read(from: snapshot)
        #expect(stored["updater/scaler:main/scale"]?.floats == [firstScaler.scale])
        #expect(stored["updater/scaler:main/skipped_steps"]?.int64s == [Int64(firstScaler.skippedSteps)])

        let resumed = Run(.float16, lossFactor: 4096)
        try Trainer(updater: resumed.updater, stopTrigger: .iterations(20), out: out).resume(from: snapshot)
        let scaler = try #require(resumed.updater.lossScaler)
        #expect(scaler.scale == firstScaler.scale)
        #expect(scaler.growthTracker == firstScaler.growthTracker)
        #expect(scaler.skippedSteps == firstScaler.skippedSteps)
        _ = try resumed.train(10)
        #expect(weightBits(resumed.model) == weightBits(uninterrupted.model))
        #expect(scaler.scale == uninterrupted.updater.lossScaler?.scale)
        #expect(scaler.skippedSteps == uninterrupted.updater.lossScaler?.skippedSteps)
    }

    /// A float32 run's state has no scaler: a float16 updater loads it with a fresh scaler, and a
    /// float32 updater ignores a float16 run's scaler state.
    @Test func stateWithoutScalerGivesAFreshScaler() throws {
        let plain = Run(nil)
        _ = try plain.train(3)
        let plainState = plain.updater.stateDict()
        #expect(!plainState.contains { $0.0.hasPrefix("scaler:") })

        let half = Run(.float16, lossFactor: 4096)
        _ = try half.train(2)
        let halfState = half.updater.stateDict()
        #expect(halfState.contains { $0.0 == "scaler:main/scale" })
        #expect(half.updater.lossScaler?.scale == 16384)
        try half.updater.loadStateDict(plainState)
        #expect(half.updater.lossScaler?.scale == 65536)
        #expect(half.updater.lossScaler?.skippedSteps == 0)
        #expect(half.updater.iteration == 3)

        try Run(nil).updater.loadStateDict(halfState)
    }

    /// Corrupt scaler state is refused with an error naming it, before anything is loaded.
    @Test func corruptScalerStateIsRefused() throws {
        let half = Run(.float16)
        _ = try half.train(2)
        var state = half.updater.stateDict()
        state.removeAll { $0.0 == "scaler:main/growth_tracker" }
        state = state.map { $0.0 == "scaler:main/scale" ? ($0.0, Tensor(scalar: -1)) : $0 }
        let target = Run(.float16)
        let before = weightBits(target.model)
        do {
            try target.updater.loadStateDict(state)
            Issue.record("corrupt scaler state was loaded")
        } catch let error as TrainerStateError {
            #expect(error.description.contains("scaler:main"))
            #expect(error.description.contains("missing key 'growth_tracker'"))
            #expect(error.description.contains("'scale' must be a finite positive"))
        }
        #expect(weightBits(target.model) == before)
        #expect(target.updater.iteration == 0)
    }
}
