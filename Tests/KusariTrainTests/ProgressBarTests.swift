import Foundation
import Kusari
import Testing
@testable import KusariTrain

struct ProgressBarTests {
    @Test func plainLinesWhenNotATerminal() throws {
        let trainer = Trainer(updater: FakeUpdater(batchesPerEpoch: 10), stopTrigger: .iterations(30), out: try temporaryDirectory())
        trainer.generators = [:]
        let buffer = TextBuffer()
        trainer.extend(ProgressBar(updateInterval: 10, out: .buffer(buffer)))
        try trainer.run()
        let lines = buffer.text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 4)
        #expect(lines.last == "")
        #expect(lines[0] == "[ 33.33%] iteration 10, epoch 1 / 30 iterations, --- iters/sec, ETA unknown")
        #expect(lines[1].hasPrefix("[ 66.67%] iteration 20, epoch 2 / 30 iterations, "))
        #expect(lines[2].hasPrefix("[100.00%] iteration 30, epoch 3 / 30 iterations, "))
        #expect(lines[2].hasSuffix(" iters/sec, ETA 0:00:00"))
        #expect(!buffer.text.contains("\u{1B}"))
    }

    @Test func terminalRedrawsInPlace() throws {
        let trainer = Trainer(updater: FakeUpdater(batchesPerEpoch: 4), stopTrigger: .epochs(2), out: try temporaryDirectory())
        trainer.generators = [:]
        let buffer = TextBuffer()
        trainer.extend(ProgressBar(updateInterval: 2, barLength: 10, out: .buffer(buffer, isTerminal: true)))
        try trainer.run()
        let frames = buffer.text.components(separatedBy: "\u{1B}[4A")
        #expect(frames.count == 5)  // four draws, then the final clear
        #expect(frames[0] == "\u{1B}[J     total [##........]  25.00%\nthis epoch [#####.....]  50.00%\n"
            + "         2 iter, 0 epoch / 2 epochs\n       --- iters/sec. Estimated time to finish: unknown.\n")
        #expect(frames[3].contains("     total [##########] 100.00%\n"))
        #expect(frames[4] == "\u{1B}[J")
    }

    @Test func durationsLikeTimedelta() {
        #expect(ProgressBar.duration(0) == "0:00:00")
        #expect(ProgressBar.duration(3723.4) == "1:02:03")
        #expect(ProgressBar.duration(90_061) == "1 day, 1:01:01")
    }
}
