import Foundation
import Kusari
import Testing
@testable import KusariTrain

struct LogReportTests {
    /// A fake run of 7 iterations (3 per epoch) reporting `main/loss = i` and, at epoch ends,
    /// `validation/main/loss = 10 i`.
    private func makeTrainer(_ out: URL, iterations: Int = 7) -> Trainer {
        let updater = FakeUpdater(batchesPerEpoch: 3) { i in
            var observation = Observation([("main/loss", Double(i)), ("main/accuracy", 0.25)])
            if i % 3 == 0 { observation["validation/main/loss"] = Double(10 * i) }
            return observation
        }
        let trainer = Trainer(updater: updater, stopTrigger: .iterations(iterations), out: out)
        trainer.generators = [:]
        return trainer
    }

    @Test func logFileHoldsMeansPerEpoch() throws {
        let out = try temporaryDirectory()
        let trainer = makeTrainer(out)
        let report = LogReport()
        trainer.extend(report)
        try trainer.run()

        let data = try Data(contentsOf: out.appendingPathComponent("log"))
        let parsed = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(parsed.count == 2)
        #expect(parsed[0]["epoch"] as? Int == 1)
        #expect(parsed[0]["iteration"] as? Int == 3)
        #expect(parsed[0]["main/loss"] as? Double == 2)  // mean of 1, 2, 3
        #expect(parsed[0]["main/accuracy"] as? Double == 0.25)
        #expect(parsed[0]["validation/main/loss"] as? Double == 30)
        #expect(parsed[1]["epoch"] as? Int == 2)
        #expect(parsed[1]["iteration"] as? Int == 6)
        #expect(parsed[1]["main/loss"] as? Double == 5)
        #expect(parsed[1]["validation/main/loss"] as? Double == 60)
        for entry in parsed {
            let elapsed = try #require(entry["elapsed_time"] as? Double)
            #expect(elapsed >= 0)
        }
        #expect(report.log.count == 2)
        #expect(report.log[1].epoch == 2)
        #expect(report.log[1].keys == ["main/loss", "main/accuracy", "validation/main/loss", "epoch", "iteration", "elapsed_time"])
        // No temporary files are left behind.
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(files == ["log"])
    }

    @Test func jsonLayoutMatchesPythonIndentFour() throws {
        let entries = [LogEntry([("main/loss", 0.5), ("epoch", 1), ("iteration", 100), ("elapsed_time", 12.25)]),
                       LogEntry([("main/loss", .nan), ("epoch", 2), ("iteration", 200), ("elapsed_time", 1e-05)])]
        let text = LogJSON.encode(entries)
        #expect(text == """
        [
            {
                "main/loss": 0.5,
                "epoch": 1,
                "iteration": 100,
                "elapsed_time": 12.25
            },
            {
                "main/loss": null,
                "epoch": 2,
                "iteration": 200,
                "elapsed_time": 1e-05
            }
        ]
        """)
        #expect(LogJSON.encode([]) == "[]")
        let decoded = try LogJSON.decode(text)
        #expect(decoded[0] == entries[0])
        #expect(decoded[1].keys == entries[1].keys)
        #expect(decoded[1]["main/loss"]!.isNaN)
        // Shortest round-trip decimals come back bit for bit.
        let awkward = LogEntry([("x", 0.1 + 0.2), ("y", 1.0 / 3.0), ("z", 123456.789e-20)])
        #expect(try LogJSON.decode(LogJSON.encode([awkward])) == [awkward])
    }

    @Test func keysAndIterationTrigger() throws {
        let out = try temporaryDirectory()
        let trainer = makeTrainer(out)
        let report = LogReport(keys: ["main/loss"], trigger: .iterations(2), logName: "log_iter")
        trainer.extend(report)
        try trainer.run()
        #expect(report.log.map(\.iteration) == [2, 4, 6])
        #expect(report.log.map { $0["main/loss"] } == [1.5, 3.5, 5.5])
        #expect(report.log.allSatisfy { $0["main/accuracy"] == nil })
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("log_iter").path))
    }

    @Test func stateRestoresLogAndPartialInterval() throws {
        let full = makeTrainer(try temporaryDirectory(), iterations: 8)
        let fullReport = LogReport()
        full.extend(fullReport)
        try full.run()

        let first = makeTrainer(try temporaryDirectory(), iterations: 4)
        first.extend(LogReport())
        try first.run()
        let out = try temporaryDirectory()
        let second = makeTrainer(out, iterations: 8)
        let report = LogReport()
        second.extend(report)
        try second.loadStateDict(first.stateDict())
        try second.run()
        func strip(_ log: [LogEntry]) -> [LogEntry] { log.map { var e = $0; e["elapsed_time"] = nil; return e } }
        #expect(strip(report.log) == strip(fullReport.log))
        #expect(report.log.count == 2)
        let written = try LogJSON.decode(String(contentsOf: out.appendingPathComponent("log"), encoding: .utf8))
        #expect(strip(written) == strip(fullReport.log))
    }
}
