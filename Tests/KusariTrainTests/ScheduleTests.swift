import Foundation
import Kusari
import KusariNN
import KusariOptim
import KusariTrain
import Testing

/// `|actual − expected| ≤ 1e-6 · max(1, |expected|)` (schedules return float32).
private func expectRate(_ actual: Float, _ expected: Double, _ comment: Comment? = nil,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(abs(Double(actual) - expected) <= 1e-6 * max(1e-3, abs(expected)),
            "got \(actual), expected \(expected)\(comment.map { " — \($0)" } ?? "")", sourceLocation: sourceLocation)
}

@Suite struct LearningRateScheduleTests {
    @Test func stepDecayHalvesEvery25Epochs() {
        // Chainer's VGG example: lr 0.05, ExponentialShift('lr', 0.5) every 25 epochs.
        let schedule = StepDecay(initial: 0.05, factor: 0.5, stepEpochs: 25)
        let expected: [(Double, Double)] = [
            (0, 0.05), (10.5, 0.05), (24.99, 0.05), (25, 0.025), (24.999999999999, 0.025),
            (49.9, 0.025), (50, 0.0125), (75, 0.00625), (299.5, 0.05 * pow(0.5, 11)),
        ]
        for (epoch, rate) in expected {
            expectRate(schedule.learningRate(iteration: Int(epoch * 100), epochDetail: epoch), rate, "epoch \(epoch)")
        }
        let byIteration = StepDecay(initial: 1, factor: 0.1, stepIterations: 1000)
        expectRate(byIteration.learningRate(iteration: 999, epochDetail: 0), 1)
        expectRate(byIteration.learningRate(iteration: 1000, epochDetail: 0), 0.1)
        expectRate(byIteration.learningRate(iteration: 2500, epochDetail: 0), 0.01)
    }

    @Test func multiStep() {
        let schedule = MultiStep(initial: 0.1, milestones: [60, 30, 90], gamma: 0.1)
        #expect(schedule.milestones == [30, 60, 90])
        let expected: [(Double, Double)] = [(0, 0.1), (29.9, 0.1), (30, 0.01), (59, 0.01), (60, 0.001), (95, 0.0001)]
        for (epoch, rate) in expected {
            expectRate(schedule.learningRate(iteration: 0, epochDetail: epoch), rate, "epoch \(epoch)")
        }
        let byIteration = MultiStep(initial: 0.5, milestones: [100, 200], gamma: 0.5, unit: .iterations)
        expectRate(byIteration.learningRate(iteration: 99, epochDetail: 50), 0.5)
        expectRate(byIteration.learningRate(iteration: 100, epochDetail: 0), 0.25)
        expectRate(byIteration.learningRate(iteration: 250, epochDetail: 0), 0.125)
    }

    @Test func exponentialDecayMatchesTensorFlow() {
        // The CIFAR-10 tutorial: decay_steps = int(50000 / 128 * 350) = 136718, staircase.
        let tutorial = ExponentialDecay.tfCIFAR10()
        #expect(tutorial.decaySteps == 136_718)
        #expect(tutorial.initial == 0.1 && tutorial.decayRate == 0.1 && tutorial.staircase)
        expectRate(tutorial.learningRate(iteration: 0, epochDetail: 0), 0.1)
        expectRate(tutorial.learningRate(iteration: 136_717, epochDetail: 0), 0.1)
        expectRate(tutorial.learningRate(iteration: 136_718, epochDetail: 0), 0.01)
        expectRate(tutorial.learningRate(iteration: 273_435, epochDetail: 0), 0.01)
        expectRate(tutorial.learningRate(iteration: 273_436, epochDetail: 0), 0.001)
        // TF: learning_rate * decay_rate ^ floor(global_step / decay_steps), in float32.
        #expect(tutorial.learningRate(iteration: 136_718, epochDetail: 0) == Float(0.1) * powf(0.1, 1))

        // Smooth decay: 0.1 · 0.96^(step / 100000).
        let smooth = ExponentialDecay(initial: 0.1, decayRate: 0.96, decaySteps: 100_000, staircase: false)
        expectRate(smooth.learningRate(iteration: 50_000, epochDetail: 0), 0.1 * pow(0.96, 0.5))
        expectRate(smooth.learningRate(iteration: 250_000, epochDetail: 0), 0.1 * pow(0.96, 2.5))
        let stairs = ExponentialDecay(initial: 0.1, decayRate: 0.96, decaySteps: 100_000, staircase: true)
        expectRate(stairs.learningRate(iteration: 250_000, epochDetail: 0), 0.1 * pow(0.96, 2))
    }

    @Test func cosineAnnealingEndpoints() {
        let schedule = CosineAnnealing(initial: 0.1, minimum: 0.001, totalEpochs: 100)
        expectRate(schedule.learningRate(iteration: 0, epochDetail: 0), 0.1)
        expectRate(schedule.learningRate(iteration: 0, epochDetail: 50), 0.0505)
        expectRate(schedule.learningRate(iteration: 0, epochDetail: 25), 0.001 + 0.099 * (1 + cos(Double.pi / 4)) / 2)
        expectRate(schedule.learningRate(iteration: 0, epochDetail: 100), 0.001)
        expectRate(schedule.learningRate(iteration: 0, epochDetail: 150), 0.001)
        let byIteration = CosineAnnealing(initial: 1, totalIterations: 10)
        expectRate(byIteration.learningRate(iteration: 10, epochDetail: 0), 0)
        expectRate(byIteration.learningRate(iteration: 5, epochDetail: 0), 0.5)
        // Monotone decreasing in between.
        let rates = (0...100).map { schedule.learningRate(iteration: 0, epochDetail: Double($0)) }
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 >= $1 })
    }

    @Test func warmupRamp() {
        let warm = Warmup(wrapping: ConstantLearningRate(0.1), iterations: 1000, startFactor: 0.1)
        expectRate(warm.learningRate(iteration: 0, epochDetail: 0), 0.01)
        expectRate(warm.learningRate(iteration: 250, epochDetail: 0), 0.1 * (0.1 + 0.9 * 0.25))
        expectRate(warm.learningRate(iteration: 500, epochDetail: 0), 0.055)
        expectRate(warm.learningRate(iteration: 1000, epochDetail: 0), 0.1)
        expectRate(warm.learningRate(iteration: 5000, epochDetail: 0), 0.1)
        // Linear: equal increments.
        let ramp = (0...10).map { Double(warm.learningRate(iteration: $0 * 100, epochDetail: 0)) }
        let increments = zip(ramp, ramp.dropFirst()).map { $1 - $0 }
        #expect(increments.allSatisfy { abs($0 - 0.009) < 1e-7 })

        // Epoch-based warm-up over a step decay (the wrapped schedule sees the same position).
        let wrapped = Warmup(wrapping: StepDecay(initial: 0.05, factor: 0.5, stepEpochs: 25), epochs: 5, startFactor: 0)
        expectRate(wrapped.learningRate(iteration: 0, epochDetail: 0), 0)
        expectRate(wrapped.learningRate(iteration: 0, epochDetail: 2.5), 0.025)
        expectRate(wrapped.learningRate(iteration: 0, epochDetail: 5), 0.05)
        expectRate(wrapped.learningRate(iteration: 0, epochDetail: 30), 0.025)
    }

    @Test func schedulerSetsTheOptimizerRate() {
        let weight = Tensor([1, 2, 3]).requiringGrad()
        let optimizer = SGD(parameters: [("w", weight)], learningRate: 123)
        let scheduler = LearningRateScheduler(StepDecay(initial: 0.05, factor: 0.5, stepEpochs: 25), optimizer: optimizer)
        #expect(scheduler.lastLearningRate == nil)
        scheduler.apply(iteration: 0, epochDetail: 0)
        #expect(optimizer.learningRate == 0.05)
        scheduler.apply(iteration: 2500, epochDetail: 25)
        #expect(optimizer.learningRate == 0.025)
        #expect(scheduler.lastLearningRate == 0.025)

        // Resuming: a fresh scheduler at the restored position gives the same rate as one that
        // followed every step (schedules are pure functions of the position).
        let positions = (0..<300).map { ($0 * 17, Double($0 * 17) / 100) }
        let followed = LearningRateScheduler(CosineAnnealing(initial: 0.1, totalEpochs: 40), optimizer: optimizer)
        var trace: [Float] = []
        for (iteration, epoch) in positions { trace.append(followed.apply(iteration: iteration, epochDetail: epoch)) }
        let resumed = LearningRateScheduler(CosineAnnealing(initial: 0.1, totalEpochs: 40), optimizer: optimizer)
        for (index, (iteration, epoch)) in positions.enumerated().dropFirst(150) {
            #expect(resumed.apply(iteration: iteration, epochDetail: epoch) == trace[index])
        }
    }
}

// MARK: - Parameter EMA

/// A tiny model with two layers.
private final class TwoLayer: Module {
    let first = Linear(3, 4)
    let second = Linear(4, 2)
}

/// Raw bit patterns of a tensor's elements.
private func bits(_ tensor: Tensor) -> [UInt32] { tensor.toArray(of: Float.self).map(\.bitPattern) }

@Suite struct ParameterEMATests {
    @Test func averagesFollowTensorFlowsFormula() {
        let p = Tensor([1, 2]).requiringGrad()
        let ema = ParameterEMA(parameters: [("p", p)], decay: 0.9999)
        #expect(ema.updateCount == 0)
        #expect(ema.averages[0].1.toArray(of: Float.self) == [1, 2])
        // Hand-computed: s ← s − (1 − d)(s − p), d = min(0.9999, (1 + t)/(10 + t)).
        var shadow: [Double] = [1, 2]
        let trained: [[Float]] = [[3, 0], [5, 1], [4, 4], [-2, 0.5]]
        for (t, values) in trained.enumerated() {
            p.withUnsafeMutableFloats { buffer in for i in 0..<2 { buffer[i] = values[i] } }
            let step = Double(t + 1)
            let d = min(0.9999, (1 + step) / (10 + step))
            #expect(abs(Double(ema.nextDecay) - d) < 1e-7)
            ema.update()
            for i in 0..<2 { shadow[i] -= (shadow[i] - Double(values[i])) * (1 - d) }
            let averages = ema.averages[0].1.toArray(of: Float.self)
            for i in 0..<2 { #expect(abs(Double(averages[i]) - shadow[i]) < 1e-5, "t=\(t + 1) element \(i)") }
        }
        #expect(ema.updateCount == 4)
        // First two steps worked out by hand: 1 + 2·9/11, then with d = 3/12.
        let afterOne = 1 + 18.0 / 11
        let afterTwo = afterOne - (afterOne - 5) * 0.75
        #expect(abs(afterTwo - 4.409090909) < 1e-8)

        // Without num_updates the decay is constant: s ← 0.9 s + 0.1 p.
        let q = Tensor([10]).requiringGrad()
        let plain = ParameterEMA(parameters: [("q", q)], decay: 0.9, usesNumUpdates: false)
        q.withUnsafeMutableFloats { $0[0] = 0 }
        plain.update()
        plain.update()
        #expect(abs(plain.averages[0].1.item() - 8.1) < 1e-5)
        // When the decay is below the cap (here 2/11 at t = 1), d = decay.
        #expect(abs(ParameterEMA(parameters: [("q", q)], decay: 0.1).nextDecay - 0.1) < 1e-7)
    }

    @Test func largeParametersMatchAScalarReference() {
        // Over the parallel threshold, so Threading.parallelFor splits the work.
        let count = 200_003
        let initial = (0..<count).map { Float(sin(Double($0) * 0.37)) }
        let p = Tensor(initial, shape: [count]).requiringGrad()
        let ema = ParameterEMA(parameters: [("big", p)], decay: 0.99)
        var reference = initial
        for step in 1...3 {
            let values = (0..<count).map { Float(cos(Double($0 * step) * 0.11)) }
            p.withUnsafeMutableFloats { buffer in for i in 0..<count { buffer[i] = values[i] } }
            ema.update()
            let oneMinus = 1 - min(Float(0.99), (1 + Float(step)) / (10 + Float(step)))
            for i in 0..<count { reference[i] -= (reference[i] - values[i]) * oneMinus }
        }
        #expect(ema.averages[0].1.toArray(of: Float.self).map(\.bitPattern) == reference.map(\.bitPattern))
    }

    @Test func swapInAndRestoreIsBitIdentical() throws {
        let model = TwoLayer()
        let ema = ParameterEMA(model, decay: 0.9)
        for step in 0..<5 {
            for (index, parameter) in model.parameters().enumerated() {
                parameter.withUnsafeMutableFloats { buffer in
                    for i in 0..<buffer.count { buffer[i] += Float(sin(Double(step * 31 + index * 7 + i))) * 0.1 }
                }
            }
            ema.update()
        }
        let trained = model.parameters().map(bits)
        let averages = ema.averages.map { bits($0.1) }
        #expect(trained != averages)
        let inside = ema.withAveragedParameters(model) { () -> [[UInt32]] in
            #expect(ema.isSwappedIn)
            return model.parameters().map(bits)
        }
        #expect(inside == averages)
        #expect(!ema.isSwappedIn)
        #expect(model.parameters().map(bits) == trained)
        #expect(ema.averages.map { bits($0.1) } == averages)

        // Restored also when the body throws.
        struct Failure: Error {}
        #expect(throws: Failure.self) {
            try ema.withAveragedParameters { throw Failure() }
        }
        #expect(model.parameters().map(bits) == trained)
        #expect(ema.averages.map { bits($0.1) } == averages)

        // The model runs with the averaged weights inside.
        let x = Tensor([0.5, -1, 2], shape: [1, 3])
        let withAverages = ema.withAveragedParameters(model) { model.second(relu(model.first(x))).toArray(of: Float.self) }
        let withTrained = model.second(relu(model.first(x))).toArray(of: Float.self)
        #expect(withAverages != withTrained)
    }

    @Test func stateDictRoundTrip() throws {
        let model = TwoLayer()
        let ema = ParameterEMA(model)
        for _ in 0..<3 {
            for parameter in model.parameters() {
                parameter.withUnsafeMutableFloats { buffer in for i in 0..<buffer.count { buffer[i] *= 0.5 } }
            }
            ema.update()
        }
        let state = ema.stateDict()
        #expect(state.map(\.0) == ["numUpdates"] + model.namedParameters().map { $0.0 + "/average" })
        #expect(state[0].1.toArray(of: Int64.self) == [3])

        let restored = ParameterEMA(model)
        try restored.loadStateDict(state)
        #expect(restored.updateCount == 3)
        #expect(restored.averages.map { bits($0.1) } == ema.averages.map { bits($0.1) })
        // Both continue identically.
        ema.update()
        restored.update()
        #expect(restored.averages.map { bits($0.1) } == ema.averages.map { bits($0.1) })

        // Bad states are refused without changing anything.
        let before = restored.averages.map { bits($0.1) }
        #expect(throws: TrainerStateError.self) { try restored.loadStateDict(Array(state.dropFirst())) }
        #expect(throws: TrainerStateError.self) {
            try restored.loadStateDict(state + [("extra", Tensor([1]))])
        }
        var wrongShape = state
        wrongShape[1].1 = Tensor([1, 2, 3])
        #expect(throws: TrainerStateError.self) { try restored.loadStateDict(wrongShape) }
        #expect(restored.updateCount == 4)
        #expect(restored.averages.map { bits($0.1) } == before)
    }
}

// MARK: - With the trainer

/// A small classifier trained by momentum SGD under a step-decay schedule, with a parameter
/// average used by the evaluator, a log and a loss plot.
private struct ScheduledRun {
    let trainer: Trainer
    let model: Module
    let optimizer: Optimizer
    let ema: ParameterEMA
    let evaluator: Evaluator
    let log: LogReport

    init(out: URL, iterations: Int, snapshotAt: Int = -1) {
        let train = syntheticData(count: 24)
        let validation = syntheticData(count: 9, offset: 100)
        // 24 examples in batches of 5: five updates per epoch.
        let source = ArraySource(inputs: train.inputs, labels: train.labels, batchSize: 5, shuffle: true, repeating: true, seed: 3)
        let validationSource = ArraySource(inputs: validation.inputs, labels: validation.labels, batchSize: 4,
                                           shuffle: false, repeating: false)
        let generator = Generator(seed: 21)
        let model = Sequential(Linear(4, 8, generator: generator), ReLU(), Linear(8, 3, generator: generator))
        let optimizer = MomentumSGD(model, learningRate: 99, momentum: 0.9)
        let trainer = Trainer(updater: StandardUpdater(source: source, model: model, optimizer: optimizer),
                              stopTrigger: .iterations(iterations), out: out)
        trainer.generators = [:]
        let ema = ParameterEMA(model, decay: 0.9)
        let evaluator = Evaluator(source: validationSource, model: model)
        ema.useForEvaluation(evaluator)
        let log = LogReport()
        // Registered in an order different from the priorities on purpose.
        trainer.extend(PlotReport(y: ["main/loss", "validation/main/loss"], x: "epoch", file: "loss.png"))
        trainer.extend(log)
        trainer.extend(evaluator)
        trainer.extend(ema)
        trainer.extend(LearningRateScheduler(StepDecay(initial: 0.1, factor: 0.5, stepEpochs: 1), optimizer: optimizer))
        trainer.extend(Snapshot(trigger: .custom { $0.updater.iteration == snapshotAt }))
        self.trainer = trainer
        self.model = model
        self.optimizer = optimizer
        self.ema = ema
        self.evaluator = evaluator
        self.log = log
    }
}

@Suite struct TrainerScheduleTests {
    @Test func scheduleEMAAndPlotInATrainingRun() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let run = ScheduledRun(out: out, iterations: 15)
        try run.trainer.run()

        // Updates of epoch e (0-based) used 0.1 · 0.5^e; the log holds the per-epoch mean of `lr`.
        #expect(run.log.log.map(\.epoch) == [1, 2, 3])
        let logged = run.log.log.map { $0["lr"] ?? -1 }
        for (got, expected) in zip(logged, [0.1, 0.05, 0.025]) { #expect(abs(got - expected) < 1e-8) }
        #expect(run.optimizer.learningRate == 0.0125)  // set for the 16th update
        #expect(run.ema.updateCount == 15)

        // The evaluator ran with the averages swapped in: re-evaluating now (the weights have not
        // changed since) gives the logged values, and the trained weights give others.
        let last = try #require(run.log.log.last)
        let again = try run.evaluator.evaluate()
        #expect(again["validation/main/loss"] == last["validation/main/loss"])
        run.evaluator.weightSwap = nil
        #expect(try run.evaluator.evaluate()["validation/main/loss"] != last["validation/main/loss"])

        // The plot was drawn into the output folder.
        let png = try Data(contentsOf: out.appendingPathComponent("loss.png"))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    @Test(arguments: [7, 10])
    func resumedScheduleAndAverageMatchAnUninterruptedRun(interruptAt k: Int) throws {
        let total = 17
        let uninterrupted = ScheduledRun(out: try temporaryDirectory(), iterations: total)
        try uninterrupted.trainer.run()

        let firstOut = try temporaryDirectory()
        let first = ScheduledRun(out: firstOut, iterations: k, snapshotAt: k)
        try first.trainer.run()
        let resumed = ScheduledRun(out: try temporaryDirectory(), iterations: total)
        try resumed.trainer.resume(from: firstOut.appendingPathComponent("snapshot_iter_\(k).npz"))
        try resumed.trainer.run()

        #expect(resumed.ema.updateCount == total)
        #expect(bits(resumed.ema.stateDict()) == bits(uninterrupted.ema.stateDict()))
        #expect(bits(resumed.model.stateDict()) == bits(uninterrupted.model.stateDict()))
        #expect(resumed.optimizer.learningRate == uninterrupted.optimizer.learningRate)
        let withoutTime = { (log: [LogEntry]) in log.map { entry -> LogEntry in var e = entry; e["elapsed_time"] = nil; return e } }
        #expect(withoutTime(resumed.log.log) == withoutTime(uninterrupted.log.log))
    }

    @Test func averageStartsFromTheRestoredWeightsWhenTheSnapshotHasNone() throws {
        let model = TwoLayer()
        let ema = ParameterEMA(model)
        for parameter in model.parameters() { parameter.withUnsafeMutableFloats { for i in 0..<$0.count { $0[i] = 7 } } }
        try ema.loadStateDict([])
        #expect(ema.updateCount == 0)
        #expect(ema.averages.allSatisfy { $0.1.toArray(of: Float.self).allSatisfy { $0 == 7 } })
    }
}
