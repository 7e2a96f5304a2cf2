import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim
import Testing
@testable import KusariTrain

/// Resume equivalence with the real `DataLoader` (worker threads, shuffling, augmentation) on the
/// built-in `shapes` data and a small convolutional network.
struct DataLoaderResumeTests {
    private struct Setup {
        let trainer: Trainer
        let model: Module
        let log: LogReport

        init(out: URL, iterations: Int, snapshotAt: Int) {
            let data = Shapes.make(count: 40, seed: 3)
            let augment = Compose([RandomCrop(size: 32, padding: 2), RandomHorizontalFlip()])
            // 40 examples in batches of 8: five batches per epoch.
            let loader = DataLoader(data, batchSize: 8, shuffle: true, seed: 17, transform: augment, workers: 2)
            let validation = DataLoader(Shapes.make(count: 12, seed: 4), batchSize: 5, shuffle: false,
                                        repeating: false, workers: 0)
            let generator = Generator(seed: 21)
            let model = Sequential(Conv2d(3, 4, kernelSize: 5, stride: 2, generator: generator), ReLU(),
                                   MaxPool2d(kernelSize: 2), Flatten(), Linear(4 * 7 * 7, 10, generator: generator))
            let optimizer = Adam(model, learningRate: 0.01)
            let trainer = Trainer(updater: StandardUpdater(source: loader, model: model, optimizer: optimizer),
                                  stopTrigger: .iterations(iterations), out: out)
            trainer.generators = [:]
            trainer.extend(Evaluator(source: validation, model: model))
            log = LogReport()
            trainer.extend(log)
            trainer.extend(Snapshot(trigger: .custom { $0.updater.iteration == snapshotAt }))
            self.trainer = trainer
            self.model = model
        }
    }

    @Test func resumeMidEpochMatchesUninterruptedRun() throws {
        let full = Setup(out: try temporaryDirectory(), iterations: 12, snapshotAt: -1)
        try full.trainer.run()

        let firstOut = try temporaryDirectory()
        let first = Setup(out: firstOut, iterations: 7, snapshotAt: 7)
        try first.trainer.run()
        let resumed = Setup(out: try temporaryDirectory(), iterations: 12, snapshotAt: 7)
        try resumed.trainer.resume(from: firstOut.appendingPathComponent("snapshot_iter_7.npz"))
        try resumed.trainer.run()

        #expect(bits(resumed.model.stateDict()) == bits(full.model.stateDict()))
        func strip(_ log: [LogEntry]) -> [LogEntry] { log.map { var e = $0; e["elapsed_time"] = nil; return e } }
        #expect(strip(resumed.log.log) == strip(full.log.log))
        #expect(resumed.log.log.map(\.epoch) == [1, 2])
        #expect(resumed.log.log.allSatisfy { $0["validation/main/accuracy"] != nil })
    }
}
