import Foundation
import Kusari
import Testing
@testable import KusariTrain

struct PrintReportTests {
    @Test func headerAndRowsUseChainersColumns() throws {
        let updater = FakeUpdater(batchesPerEpoch: 2) { i in
            var observation = Observation([("main/loss", i == 1 ? 2.302585093 : 0.5)])
            if i == 4 { observation["validation/main/loss"] = 0.000012345 }
            return observation
        }
        let trainer = Trainer(updater: updater, stopTrigger: .iterations(4), out: try temporaryDirectory())
        trainer.generators = [:]
        let buffer = TextBuffer()
        trainer.extend(LogReport(postprocess: { $0["elapsed_time"] = 1.5 }))
        trainer.extend(PrintReport(entries: ["epoch", "main/loss", "validation/main/loss", "elapsed_time"],
                                   out: .buffer(buffer)))
        try trainer.run()
        let expected = "epoch       main/loss   validation/main/loss  elapsed_time\n"
            + "1           1.40129                           1.5           \n"
            + "2           0.5         1.2345e-05            1.5           \n"
        #expect(buffer.text == expected)
    }

    @Test func formatsLikePythonG() {
        #expect(PrintReport.format(1) == "1")
        #expect(PrintReport.format(153.54321) == "153.543")
        #expect(PrintReport.format(1234567) == "1.23457e+06")
        #expect(PrintReport.format(0.0001) == "0.0001")
        #expect(PrintReport.format(.nan) == "nan")
        let report = PrintReport(entries: ["epoch", "validation/main/accuracy"], out: .buffer(TextBuffer()))
        #expect(report.widths == [10, 24])
        #expect(report.header == "epoch       validation/main/accuracy\n")
    }

    @Test func terminalOutputClearsBelowBeforeEachRow() throws {
        let trainer = Trainer(updater: FakeUpdater(batchesPerEpoch: 1) { _ in Observation([("main/loss", 1)]) },
                              stopTrigger: .iterations(2), out: try temporaryDirectory())
        trainer.generators = [:]
        let buffer = TextBuffer()
        trainer.extend(LogReport(logName: nil))
        trainer.extend(PrintReport(entries: ["epoch"], out: .buffer(buffer, isTerminal: true)))
        try trainer.run()
        #expect(buffer.text == "epoch     \n\u{1B}[J1           \n\u{1B}[J2           \n")
    }
}
