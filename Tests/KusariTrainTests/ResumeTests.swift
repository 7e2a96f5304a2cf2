import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim
import Testing
@testable import KusariTrain

/// One complete training set-up built from scratch: data sources, model with dropout, momentum
/// SGD, evaluator, two log reports, NaN guard and snapshots.
private struct Run {
    let trainer: Trainer
    let model: Module
    let optimizer: Optimizer
    let epochLog: LogReport
    let iterationLog: LogReport

    init(out: URL, iterations: Int, snapshotAt: Int) {
        let train = syntheticData(count: 24)
        let validation = syntheticData(count: 9, offset: 100)
        // 24 examples in batches of 5: five batches per epoch, the last one short.
        let source = ArraySource(inputs: train.inputs, labels: train.labels, batchSize: 5, shuffle: true, repeating: true, seed: 11)
        let validationSource = ArraySource(inputs: validation.inputs, labels: validation.labels, batchSize: 4,
                                           shuffle: false, repeating: false)
        let initGenerator = Generator(seed: 5)
        let dropoutGenerator = Generator(seed: 9)
        let model = Sequential(Linear(4, 16, generator: initGenerator), ReLU(), Dropout(0.3, generator: dropoutGenerator),
                               Linear(16, 3, generator: initGenerator))
        let optimizer = MomentumSGD(model, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4)
        let updater = StandardUpdater(source: source, model: model, optimizer: optimizer)
        let trainer = Trainer(updater: updater, stopTrigger: .iterations(iterations), out: out)
        trainer.generators = ["dropout": dropoutGenerator]  // not Generator.default: tests run in parallel
        trainer.extend(Evaluator(source: validationSource, model: model))
        epochLog = LogReport()
        iterationLog = LogReport(trigger: .iterations(3), logName: "log_iterations")
        trainer.extend(epochLog)
        trainer.extend(iterationLog)
        trainer.extend(NaNGuard())
        trainer.extend(Snapshot(trigger: .custom { $0.updater.iteration == snapshotAt }))
        self.trainer = trainer
        self.model = model
        self.optimizer = optimizer
    }
}

private func withoutTime(_ log: [LogEntry]) -> [LogEntry] {
    log.map { var entry = $0; entry["elapsed_time"] = nil; return entry }
}

struct ResumeTests {
    @Test(arguments: [12, 10, 3])
    func resumedRunMatchesUninterruptedRunBitForBit(interruptAt k: Int) throws {
        let total = 23
        let uninterrupted = Run(out: try temporaryDirectory(), iterations: total, snapshotAt: -1)
        try uninterrupted.trainer.run()

        let firstOut = try temporaryDirectory()
        let first = Run(out: firstOut, iterations: k, snapshotAt: k)
        try first.trainer.run()
        let snapshot = firstOut.appendingPathComponent("snapshot_iter_\(k).npz")
        #expect(FileManager.default.fileExists(atPath: snapshot.path))

        let resumedOut = try temporaryDirectory()
        let resumed = Run(out: resumedOut, iterations: total, snapshotAt: k)
        try resumed.trainer.resume(from: snapshot)
        #expect(resumed.trainer.updater.iteration == k)
        let saved = try NPZ.read(from: snapshot)["elapsed_time"]?.int64s?.first
        let savedElapsed = Double(bitPattern: UInt64(bitPattern: try #require(saved)))
        #expect(savedElapsed > 0)
        #expect(resumed.trainer.elapsedTime == savedElapsed)
        try resumed.trainer.run()

        #expect(resumed.trainer.updater.iteration == total)
        let expectedModel = bits(uninterrupted.model.stateDict())
        #expect(!expectedModel.isEmpty)
        #expect(bits(resumed.model.stateDict()) == expectedModel)
        #expect(bits(resumed.optimizer.stateDict()) == bits(uninterrupted.optimizer.stateDict()))
        #expect(withoutTime(resumed.epochLog.log) == withoutTime(uninterrupted.epochLog.log))
        #expect(withoutTime(resumed.iterationLog.log) == withoutTime(uninterrupted.iterationLog.log))
        #expect(resumed.epochLog.log.map(\.epoch) == [1, 2, 3, 4])
        #expect(resumed.iterationLog.log.map(\.iteration) == Array(stride(from: 3, through: 21, by: 3)))
        let onDisk = try LogJSON.decode(String(contentsOf: resumedOut.appendingPathComponent("log"), encoding: .utf8))
        #expect(withoutTime(onDisk) == withoutTime(uninterrupted.epochLog.log))
        #expect(onDisk.first?["validation/main/accuracy"] != nil)
        // The resumed run's elapsed time includes the first part.
        #expect(resumed.epochLog.log.last!.elapsedTime > savedElapsed)
    }

    @Test func snapshotHoldsTheDocumentedKeys() throws {
        let out = try temporaryDirectory()
        let run = Run(out: out, iterations: 7, snapshotAt: 7)
        run.trainer.generators["default"] = .default  // reading the default generator is harmless
        try run.trainer.run()
        let arrays = try NPZ.read(from: out.appendingPathComponent("snapshot_iter_7.npz"))
        let keys = Set(arrays.keys)
        for key in ["updater/iteration", "updater/epoch", "updater/previous_epoch_detail",
                    "updater/model:main/0.W", "updater/model:main/0.b", "updater/model:main/3.W",
                    "updater/optimizer:main/step", "updater/optimizer:main/learningRate",
                    "updater/optimizer:main/0.W/v", "updater/optimizer:main/0.W/step",
                    "updater/iterator:main/position", "updater/iterator:main/order",
                    "stop_trigger/previous_iteration", "stop_trigger/previous_epoch_detail",
                    "extensions/LogReport/log", "extensions/LogReport/summary/keys", "extensions/LogReport/summary/sums",
                    "extensions/LogReport/trigger/previous_epoch_detail", "extensions/LogReport_1/log",
                    "extensions/Snapshot/written", "extension_triggers/validation/previous_iteration",
                    "generators/default/seed", "generators/default/offset",
                    "generators/dropout/seed", "generators/dropout/offset",
                    "observation/main/loss", "elapsed_time"] {
            #expect(keys.contains(key), "missing \(key)")
        }
        #expect(arrays["updater/iteration"]?.int64s == [7])
        #expect(arrays["updater/epoch"]?.int64s == [1])
        let log = try #require(arrays["extensions/LogReport/log"])
        let entries = try LogJSON.decode(String(decoding: log.bytes, as: UTF8.self))
        #expect(entries.map(\.iteration) == [5])
        // The model can be read straight out of a snapshot.
        let fresh = Run(out: try temporaryDirectory(), iterations: 1, snapshotAt: -1)
        try fresh.model.load(from: out.appendingPathComponent("snapshot_iter_7.npz"), prefix: "updater/model:main/", strict: false)
        #expect(bits(fresh.model.stateDict()) == bits(run.model.stateDict()))
    }

    @Test func snapshotKeepsOnlyTheLastK() throws {
        let out = try temporaryDirectory()
        let trainer = Trainer(updater: FakeUpdater(batchesPerEpoch: 2), stopTrigger: .iterations(5), out: out)
        trainer.generators = [:]
        let extra = Generator(seed: 42)
        let snapshot = Snapshot(trigger: .iterations(1), keep: 2, generators: ["augment": extra])
        trainer.extend(snapshot)
        try trainer.run()
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files == ["snapshot_iter_4.npz", "snapshot_iter_5.npz"])
        #expect(snapshot.written == ["snapshot_iter_4.npz", "snapshot_iter_5.npz"])

        // The list and the extra generator survive a resume, so old files keep being removed.
        let saved = extra.state
        _ = extra.permutation(10)
        let again = Trainer(updater: FakeUpdater(batchesPerEpoch: 2), stopTrigger: .iterations(7), out: out)
        again.generators = [:]
        let second = Snapshot(trigger: .iterations(1), keep: 2, generators: ["augment": extra])
        again.extend(second)
        try again.resume(from: out.appendingPathComponent("snapshot_iter_5.npz"))
        #expect(extra.state == saved)
        try again.run()
        let after = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(after == ["snapshot_iter_6.npz", "snapshot_iter_7.npz"])
    }

    @Test func finalModelIsWrittenAtTheEnd() throws {
        let out = try temporaryDirectory()
        let run = Run(out: out, iterations: 4, snapshotAt: -1)
        run.trainer.extend(FinalModel())
        try run.trainer.run()
        let fresh = Run(out: try temporaryDirectory(), iterations: 1, snapshotAt: -1)
        try fresh.model.load(from: out.appendingPathComponent("model.npz"))
        #expect(bits(fresh.model.stateDict()) == bits(run.model.stateDict()))
        let saved = try run.trainer.saveModel(to: out.appendingPathComponent("copy.npz"))
        #expect(FileManager.default.fileExists(atPath: saved.path))
    }

    @Test func resumeReportsAMissingUpdater() throws {
        let out = try temporaryDirectory()
        let file = out.appendingPathComponent("bad.npz")
        try NPZ.write([(name: "elapsed_time", array: NPYArray(int64s: [0], shape: []))], to: file)
        let run = Run(out: out, iterations: 1, snapshotAt: -1)
        #expect {
            try run.trainer.resume(from: file)
        } throws: { error in
            String(describing: error).contains("bad.npz") && String(describing: error).contains("updater")
        }
    }
}
