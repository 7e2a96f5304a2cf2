import Foundation
import Kusari
import KusariData
import KusariNN
import Testing
@testable import KusariTrain

struct EvaluatorTests {
    @Test func meansAreWeightedByBatchSizeInEvalModeWithoutGradients() throws {
        // Ten examples in batches of 4, 4, 2; each batch reports the mean of its labels.
        let labels: [Int32] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        let source = ArraySource(inputs: labels.map { Float($0) }, labels: labels, batchSize: 4,
                                 shuffle: false, repeating: false)
        let model = Sequential(Dropout(0.5))
        var modes: [Bool] = []
        var gradModes: [Bool] = []
        let evaluator = Evaluator(source: source, model: model) { model, batch, reporter in
            modes.append(model.isTraining)
            gradModes.append(GradMode.isEnabled)
            let values = batch.labels.toArray(of: Int32.self)
            reporter.report("main/loss", Double(values.reduce(0, +)) / Double(values.count))
            reporter.report("main/batches", 1.0)
            return Tensor(scalar: 0)
        }
        let result = try evaluator.evaluate()
        #expect(result.keys == ["validation/main/loss", "validation/main/batches"])
        #expect(result["validation/main/loss"] == 4.5)  // the mean over examples, not over batches (4.1667)
        #expect(modes == [false, false, false])
        #expect(gradModes == [false, false, false])
        #expect(model.isTraining)
        // A second evaluation resets the source and sees the same batches.
        #expect(try evaluator.evaluate() == result)
        #expect(modes.count == 6)
    }

    @Test func reportsIntoTrainerAndSwapsWeights() throws {
        let data = syntheticData(count: 6)
        let source = ArraySource(inputs: data.inputs, labels: data.labels, batchSize: 4, shuffle: false, repeating: false)
        let model = Sequential(Linear(4, 3, generator: Generator(seed: 3)))
        let evaluator = Evaluator(source: source, model: model)
        var swaps = 0
        evaluator.weightSwap = { body in
            swaps += 1
            try body()
        }
        let trainer = Trainer(updater: FakeUpdater(batchesPerEpoch: 2), stopTrigger: .epochs(2), out: try temporaryDirectory())
        trainer.generators = [:]
        trainer.extend(evaluator)
        let log = LogReport(logName: nil)
        trainer.extend(log)
        try trainer.run()
        #expect(swaps == 2)
        #expect(trainer.extensions.first?.name == "validation")
        #expect(log.log.count == 2)
        let loss = try #require(log.log[0]["validation/main/loss"])
        let accuracy = try #require(log.log[0]["validation/main/accuracy"])
        #expect(loss.isFinite && loss > 0)
        #expect(accuracy >= 0 && accuracy <= 1)
    }
}
