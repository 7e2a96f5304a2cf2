import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim
import Testing
@testable import KusariTrain

struct NaNGuardTests {
    @Test func stopsWithAMessageAndKeepsTheLastGoodSnapshot() throws {
        let out = try temporaryDirectory()
        let data = syntheticData(count: 12)
        let source = ArraySource(inputs: data.inputs, labels: data.labels, batchSize: 4, shuffle: false, repeating: true)
        let model = Sequential(Linear(4, 3, generator: Generator(seed: 1)))
        let optimizer = SGD(model, learningRate: 0.1)
        var step = 0
        let classifier = ClassifierLoss()
        let updater = StandardUpdater(source: source, model: model, optimizer: optimizer) { model, batch, reporter in
            step += 1
            let loss = classifier(model, batch, reporter)
            guard step == 7 else { return loss }
            let bad = loss * Float.nan
            reporter.report("main/loss", bad)
            return bad
        }
        let trainer = Trainer(updater: updater, stopTrigger: .iterations(20), out: out)
        trainer.generators = [:]
        let log = LogReport(trigger: .iterations(1))
        trainer.extend(log)
        trainer.extend(NaNGuard())
        trainer.extend(Snapshot(trigger: .iterations(2)))
        trainer.extend(FinalModel())
        let snapshot6 = out.appendingPathComponent("snapshot_iter_6.npz")

        var thrown: Error?
        do { try trainer.run() } catch { thrown = error }
        let stopped = try #require(thrown as? TrainingStopped)
        #expect(stopped.iteration == 7)
        #expect(stopped.reason.contains("iteration 7"))
        #expect(stopped.reason.contains("observation 'main/loss' is NaN"))
        #expect(stopped.reason.contains("snapshot_iter_6.npz"))
        #expect(trainer.updater.iteration == 7)
        #expect(trainer.hasFailed)

        let files = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
        #expect(files == ["log", "snapshot_iter_2.npz", "snapshot_iter_4.npz", "snapshot_iter_6.npz"])
        // The log still records the bad iteration.
        #expect(log.log.count == 7)
        #expect(log.log.last!["main/loss"]!.isNaN)
        // The last good snapshot holds finite weights at iteration 6.
        let arrays = try NPZ.read(from: snapshot6)
        #expect(arrays["updater/iteration"]?.int64s == [6])
        let finite = arrays["updater/model:main/0.W"]!.floats.allSatisfy { $0.isFinite }
        #expect(finite)
    }

    @Test func parametersAreCheckedToo() throws {
        let model = Sequential(Linear(2, 2, generator: Generator(seed: 1)))
        let data = syntheticData(count: 4)
        let source = ArraySource(inputs: data.inputs, labels: data.labels, batchSize: 2, shuffle: false, repeating: true)
        let updater = StandardUpdater(source: source, model: model, optimizer: SGD(model)) { model, _, _ in
            let parameter = model.parameters()[0]
            withNoGrad { parameter.fill(.infinity) }
            return (parameter * 0).sum()
        }
        let trainer = Trainer(updater: updater, stopTrigger: .iterations(5), out: try temporaryDirectory())
        trainer.generators = [:]
        let guardExtension = NaNGuard()
        trainer.extend(guardExtension)
        #expect(throws: TrainingStopped.self) { try trainer.run() }
        #expect(guardExtension.message?.contains("parameter '0.W'") == true)
        #expect(trainer.updater.iteration == 1)
    }
}
