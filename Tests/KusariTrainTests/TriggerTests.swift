import Foundation
import Kusari
import Testing
@testable import KusariTrain

struct TriggerTests {
    /// Runs a fake training of `iterations` updates (3 per epoch) with one recorder per trigger.
    private func run(_ triggers: [Trigger], iterations: Int, state: [(String, Tensor)]? = nil,
                     names: [String]? = nil) throws -> (Trainer, [Recorder]) {
        let trainer = Trainer(updater: FakeUpdater(batchesPerEpoch: 3), stopTrigger: .iterations(iterations),
                              out: try temporaryDirectory())
        trainer.generators = [:]
        let recorders = triggers.map { _ in Recorder() }
        for (index, (trigger, recorder)) in zip(triggers, recorders).enumerated() {
            trainer.extend(recorder, trigger: trigger, name: names?[index] ?? "recorder\(index)")
        }
        if let state { try trainer.loadStateDict(state) }
        try trainer.run()
        return (trainer, recorders)
    }

    @Test func intervalTriggersFireAtMultiples() throws {
        let (trainer, recorders) = try run([.iterations(4), .epochs(1), .epochs(1.5), .epochs(2)], iterations: 14)
        #expect(trainer.updater.iteration == 14)
        #expect(recorders[0].iterations == [4, 8, 12])
        #expect(recorders[1].iterations == [3, 6, 9, 12])
        // 1.5 epochs = 4.5 iterations: fires when epochDetail crosses 1.5, 3.0 and 4.5.
        #expect(recorders[2].iterations == [5, 9, 14])
        #expect(recorders[3].iterations == [6, 12])
    }

    @Test func stopTriggerCountsEpochs() throws {
        let trainer = Trainer(updater: FakeUpdater(batchesPerEpoch: 3), stopTrigger: .epochs(2), out: try temporaryDirectory())
        trainer.generators = [:]
        try trainer.run()
        #expect(trainer.updater.iteration == 6)
        #expect(trainer.stopTrigger.interval?.period == 2)
        #expect(trainer.stopTrigger.interval?.unit == .epoch)
    }

    @Test func triggersContinueCorrectlyAfterResume() throws {
        let triggers: () -> [Trigger] = { [.iterations(4), .epochs(1), .epochs(1.5)] }
        let (full, fullRecorders) = try run(triggers(), iterations: 14)
        let (first, firstRecorders) = try run(triggers(), iterations: 7)
        let state = first.stateDict()
        let (second, secondRecorders) = try run(triggers(), iterations: 14, state: state)
        #expect(second.updater.iteration == 14)
        for index in 0..<3 {
            #expect(firstRecorders[index].iterations + secondRecorders[index].iterations == fullRecorders[index].iterations)
        }
        // Triggers whose state is not in the snapshot (other names) take the updater's previous position.
        let (_, fresh) = try run(triggers(), iterations: 14, state: state, names: ["a", "b", "c"])
        for index in 0..<3 {
            #expect(fresh[index].iterations == fullRecorders[index].iterations.filter { $0 > 7 })
        }
        _ = full
    }

    @Test func resumingAFinishedRunDoesNothing() throws {
        let (first, _) = try run([], iterations: 6)
        let (second, recorders) = try run([.iterations(1)], iterations: 6, state: first.stateDict())
        #expect(second.updater.iteration == 6)
        #expect(recorders[0].iterations.isEmpty)
    }

    @Test func customTriggerAndStopRequest() throws {
        let trainer = Trainer(updater: FakeUpdater(batchesPerEpoch: 3), stopTrigger: .iterations(100), out: try temporaryDirectory())
        trainer.generators = [:]
        let recorder = Recorder()
        trainer.extend(recorder, trigger: Trigger { $0.updater.iteration % 5 == 2 })
        final class Stopper: Extension {
            func callAsFunction(_ trainer: Trainer) throws {
                if trainer.updater.iteration == 13 { trainer.stop(reason: "enough") }
            }
        }
        trainer.extend(Stopper())
        try trainer.run()
        #expect(recorder.iterations == [2, 7, 12])
        #expect(trainer.updater.iteration == 13)
        #expect(trainer.stopRequest?.reason == "enough")
        #expect(trainer.stopRequest?.isFailure == false)
    }

    @Test func extensionsRunByPriorityThenRegistrationAndNamesAreUnique() throws {
        final class Probe: Extension {
            let label: String, order: Int
            let log: (String) -> Void
            init(_ label: String, _ order: Int, _ log: @escaping (String) -> Void) { self.label = label; self.order = order; self.log = log }
            var priority: Int { order }
            func callAsFunction(_ trainer: Trainer) throws { log(label) }
        }
        var calls: [String] = []
        let trainer = Trainer(updater: FakeUpdater(batchesPerEpoch: 3), stopTrigger: .iterations(1), out: try temporaryDirectory())
        trainer.generators = [:]
        for (label, priority) in [("a", 100), ("b", 300), ("c", 100), ("d", -100), ("e", 300)] {
            trainer.extend(Probe(label, priority) { calls.append($0) })
        }
        try trainer.run()
        #expect(calls == ["b", "e", "a", "c", "d"])
        #expect(trainer.extensions.map(\.name) == ["Probe", "Probe_1", "Probe_2", "Probe_3", "Probe_4"])
    }

    @Test func snapshotHoldsTriggerStateOfLowerPriorityExtensions() throws {
        func make(_ out: URL, _ iterations: Int) -> (Trainer, Recorder) {
            let trainer = Trainer(updater: FakeUpdater(batchesPerEpoch: 3), stopTrigger: .iterations(iterations), out: out)
            trainer.generators = [:]
            let recorder = Recorder()
            trainer.extend(recorder, trigger: .epochs(1), priority: ExtensionPriority.snapshot - 50)
            trainer.extend(Snapshot(trigger: .iterations(6)))
            return (trainer, recorder)
        }
        let out = try temporaryDirectory()
        let (first, firstRecorder) = make(out, 6)
        try first.run()
        #expect(firstRecorder.iterations == [3, 6])
        let (second, secondRecorder) = make(try temporaryDirectory(), 12)
        try second.resume(from: out.appendingPathComponent("snapshot_iter_6.npz"))
        try second.run()
        #expect(secondRecorder.iterations == [9, 12])
    }
}
