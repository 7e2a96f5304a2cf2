import Foundation
import Kusari
import Testing
@testable import KusariTrain

struct ReporterTests {
    @Test func summaryMeanAndStandardDeviation() {
        var summary = Summary()
        for value in [1.0, 2.0, 3.0, 4.0] { summary.add(value) }
        #expect(summary.mean == 2.5)
        #expect(Swift.abs(summary.standardDeviation - 1.25.squareRoot()) < 1e-12)
        var weighted = Summary()
        weighted.add(1, weight: 3)
        weighted.add(5, weight: 1)
        #expect(weighted.mean == 2)
        #expect(Swift.abs(weighted.standardDeviation - 3.0.squareRoot()) < 1e-12)
    }

    @Test func dictSummaryKeepsFirstAppearanceOrder() throws {
        var summary = DictSummary()
        summary.add(Observation([("main/loss", 2), ("main/accuracy", 0.5)]))
        summary.add(Observation([("validation/main/loss", 1), ("main/loss", 4)]))
        #expect(summary.means.keys == ["main/loss", "main/accuracy", "validation/main/loss"])
        #expect(summary.means["main/loss"] == 3)
        #expect(summary.means["main/accuracy"] == 0.5)
        #expect(summary.standardDeviations["main/loss"] == 1)
        var restored = DictSummary()
        try restored.loadStateDict(summary.stateDict())
        #expect(restored == summary)
    }

    @Test func reporterScopes() {
        let reporter = Reporter()
        reporter.startObservation()
        reporter.report("main/loss", Tensor(scalar: 0.25))
        reporter.report("main/accuracy", Float(0.5))
        let (value, inner) = reporter.withScope { () -> Int in
            reporter.report("loss", 1.0)
            return 7
        }
        #expect(value == 7)
        #expect(inner.keys == ["loss"])
        #expect(reporter.observation.keys == ["main/loss", "main/accuracy"])
        #expect(reporter.observation["main/loss"] == 0.25)
        reporter.startObservation()
        #expect(reporter.observation.isEmpty)
    }

    @Test func trainerObservationIsPerIteration() throws {
        let updater = FakeUpdater(batchesPerEpoch: 2) { Observation([("main/loss", Double($0))]) }
        let trainer = Trainer(updater: updater, stopTrigger: .iterations(3), out: try temporaryDirectory())
        trainer.generators = [:]
        final class Probe: Extension {
            var seen: [Observation] = []
            func callAsFunction(_ trainer: Trainer) throws { seen.append(trainer.observation) }
        }
        let probe = Probe()
        trainer.extend(probe)
        try trainer.run()
        #expect(probe.seen.map { $0["main/loss"] } == [1, 2, 3])
        #expect(trainer.observation["main/loss"] == 3)
        #expect(trainer.elapsedTime > 0)
    }
}
