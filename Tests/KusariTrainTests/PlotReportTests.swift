import Foundation
import KusariTrain
import Testing

/// Width and height from a PNG's IHDR chunk, or `nil` when `data` is not a PNG.
private func pngSize(_ data: Data) -> (width: Int, height: Int)? {
    let bytes = [UInt8](data)
    let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    guard bytes.count >= 33, Array(bytes[0..<8]) == signature, Array(bytes[12..<16]) == Array("IHDR".utf8) else {
        return nil
    }
    func bigEndian(_ offset: Int) -> Int { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
    return (bigEndian(16), bigEndian(20))
}

/// A fresh temporary folder.
private func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kusari-plot-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Log entries shaped like a 50-epoch classification run's (validation logged every epoch, the
/// second one missing its validation values).
private func sampleEntries(epochs: Int = 50) -> [[String: Double]] {
    (1...epochs).map { epoch in
        let e = Double(epoch)
        var entry: [String: Double] = [
            "epoch": e, "iteration": e * 400,
            "main/loss": 2.3 * exp(-e / 9) + 0.25 + 0.03 * sin(e),
            "main/accuracy": 0.95 - 0.83 * exp(-e / 8) + 0.01 * cos(e),
            "elapsed_time": e * 31.5,
        ]
        if epoch != 2 {
            entry["validation/main/loss"] = 2.2 * exp(-e / 10) + 0.55 + 0.004 * e
            entry["validation/main/accuracy"] = 0.82 - 0.7 * exp(-e / 9)
        }
        return entry
    }
}

@Suite struct PlotReportTests {
    @Test func writesPNGWithRequestedSize() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("loss.png")
        try PlotReport(y: ["main/loss", "validation/main/loss"], x: "epoch", file: "loss.png")
            .render(entries: sampleEntries(), to: url)
        let size = try #require(pngSize(Data(contentsOf: url)))
        #expect(size.width == 640 && size.height == 480)
        // Nothing but the plot is left in the folder (the temporary file was renamed).
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["loss.png"])

        let report = PlotReport(y: "main/loss", file: "small.png")
        report.width = 320
        report.height = 200
        let small = folder.appendingPathComponent("small.png")
        try report.render(entries: sampleEntries(epochs: 3), to: small)
        let smallSize = try #require(pngSize(Data(contentsOf: small)))
        #expect(smallSize.width == 320 && smallSize.height == 200)
    }

    @Test func overwritesAnExistingPlot() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("accuracy.png")
        try Data("old".utf8).write(to: url)
        try PlotReport(y: ["main/accuracy"], file: "accuracy.png").render(entries: sampleEntries(), to: url)
        #expect(pngSize(try Data(contentsOf: url)) != nil)
    }

    @Test func missingFolderIsAClearError() throws {
        let url = URL(fileURLWithPath: "/nonexistent-kusari-folder/loss.png")
        #expect(throws: PlotError.self) {
            try PlotReport(y: ["main/loss"]).render(entries: sampleEntries(), to: url)
        }
    }

    @Test func oneSeriesPerKeySkippingEntriesWithoutIt() {
        let report = PlotReport(y: ["main/loss", "validation/main/loss"], x: "epoch", file: "loss.png")
        let plot = report.plot(entries: sampleEntries(epochs: 5))
        #expect(plot.series.map(\.label) == ["main/loss", "validation/main/loss"])
        #expect(plot.series[0].points.map(\.x) == [1, 2, 3, 4, 5])
        #expect(plot.series[1].points.map(\.x) == [1, 3, 4, 5])
        #expect(plot.title == "loss")
        #expect(plot.xLabel == "epoch")
        #expect(plot.yLabel == "loss")
        let byIteration = PlotReport(y: ["main/loss", "main/accuracy"], x: "iteration", file: "out/both.png")
        let plot2 = byIteration.plot(entries: sampleEntries(epochs: 2))
        #expect(plot2.series[0].points.map(\.x) == [400, 800])
        #expect(plot2.title == "both")
        #expect(plot2.yLabel == "")
    }

    @Test func drawsEmptyAndDegenerateData() throws {
        // No entries, one entry, constant values, NaN/Inf values, log scale with non-positive values.
        let cases: [[[String: Double]]] = [
            [],
            [["epoch": 1, "main/loss": 0.5]],
            [["epoch": 1, "main/loss": 0.5], ["epoch": 2, "main/loss": 0.5]],
            [["epoch": 1, "main/loss": .nan], ["epoch": 2, "main/loss": .infinity], ["epoch": 3, "main/loss": 1]],
            [["epoch": 1, "main/loss": 0], ["epoch": 2, "main/loss": -1], ["epoch": 3, "main/loss": 1e-3]],
        ]
        for entries in cases {
            for logScale in [false, true] {
                let data = try PlotReport(y: ["main/loss"], logScale: logScale).plot(entries: entries).pngData()
                #expect(pngSize(data) != nil)
            }
        }
    }

    @Test func niceTickChoice() {
        func close(_ a: [Double], _ b: [Double]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) }
        }
        #expect(close(LinePlot.niceTicks(lower: 0.1, upper: 0.98, targetCount: 6), [0, 0.2, 0.4, 0.6, 0.8, 1.0]))
        #expect(close(LinePlot.niceTicks(lower: 0.35, upper: 2.3, targetCount: 6), [0, 0.5, 1, 1.5, 2, 2.5]))
        #expect(close(LinePlot.niceTicks(lower: 1, upper: 50, targetCount: 7), [0, 10, 20, 30, 40, 50]))
        #expect(close(LinePlot.niceTicks(lower: 1, upper: 20, targetCount: 7), [0, 5, 10, 15, 20]))
        #expect(close(LinePlot.niceTicks(lower: 0, upper: 12345, targetCount: 5), [0, 5000, 10000, 15000]))
        #expect(close(LinePlot.niceTicks(lower: -0.3, upper: 0.7, targetCount: 5), [-0.4, -0.2, 0, 0.2, 0.4, 0.6, 0.8]))
        #expect(close(LinePlot.niceTicks(lower: 0.0012, upper: 0.0031, targetCount: 4), [0.001, 0.0015, 0.002, 0.0025, 0.003, 0.0035]))
        // Whole epochs: no fractional ticks.
        #expect(close(LinePlot.niceTicks(lower: 1, upper: 3, targetCount: 6), [1, 1.5, 2, 2.5, 3]))
        #expect(close(LinePlot.niceTicks(lower: 1, upper: 3, targetCount: 6, minimumStep: 1), [1, 2, 3]))
        // Degenerate range: widened around the value.
        let single = LinePlot.niceTicks(lower: 5, upper: 5, targetCount: 5)
        #expect(single.first! < 5 && single.last! > 5 && single.count >= 3)
        #expect(LinePlot.niceStep(span: 1, targetCount: 5) == 0.2)
        #expect(LinePlot.niceStep(span: 70, targetCount: 7) == 10)
        #expect(LinePlot.niceStep(span: 3, targetCount: 6) == 0.5)
    }

    @Test func logTickChoice() {
        func close(_ a: [Double], _ b: [Double]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) }
        }
        #expect(close(LinePlot.logTicks(lower: 0.3, upper: 2.3, targetCount: 6), [0.2, 0.5, 1, 2, 5]))
        #expect(close(LinePlot.logTicks(lower: 0.003, upper: 2.3, targetCount: 6), [0.001, 0.01, 0.1, 1, 10]))
        #expect(close(LinePlot.logTicks(lower: 1e-12, upper: 1, targetCount: 6), [1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1]))
        let narrow = LinePlot.logTicks(lower: 0.31, upper: 0.45, targetCount: 6)
        #expect(narrow.count >= 3 && narrow.allSatisfy { $0 > 0 } && narrow.first! <= 0.31 && narrow.last! >= 0.45)
    }

    @Test func tickLabels() {
        #expect(LinePlot.tickLabel(0.6000000000000001, step: 0.2) == "0.6")
        #expect(LinePlot.tickLabel(10, step: 5) == "10")
        #expect(LinePlot.tickLabel(0.0015, step: 0.0005) == "0.0015")
        #expect(LinePlot.tickLabel(-1e-17, step: 0.1) == "0.0")
        #expect(LinePlot.tickLabel(20_000_000, step: 10_000_000) == "2e+07")
        #expect(LinePlot.tickLabel(2.5e-6, step: 5e-7) == "2.5e-06")
        #expect(LinePlot.logTickLabel(0.01) == "0.01")
        #expect(LinePlot.logTickLabel(20) == "20")
        #expect(LinePlot.logTickLabel(1e-5) == "1e-05")
        #expect(LinePlot.logTickLabel(1e7) == "1e+07")
    }

    /// Draws the sample plots to look at: `$TMPDIR/kusari-plot-samples/{loss,accuracy,loss-log,lr}.png`.
    @Test func sampleLossAndAccuracyPlots() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kusari-plot-samples")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let entries = sampleEntries()
        try PlotReport(y: ["main/loss", "validation/main/loss"], x: "epoch", file: "loss.png")
            .render(entries: entries, to: folder.appendingPathComponent("loss.png"))
        try PlotReport(y: ["main/accuracy", "validation/main/accuracy"], x: "epoch", file: "accuracy.png")
            .render(entries: entries, to: folder.appendingPathComponent("accuracy.png"))
        try PlotReport(y: ["main/loss", "validation/main/loss"], x: "iteration", file: "loss-log.png", logScale: true)
            .render(entries: entries, to: folder.appendingPathComponent("loss-log.png"))
        let schedule = ExponentialDecay.tfCIFAR10()
        let lrEntries = stride(from: 0, through: 1_000_000, by: 5000).map { step -> [String: Double] in
            ["iteration": Double(step), "lr": Double(schedule.learningRate(iteration: step, epochDetail: 0))]
        }
        try PlotReport(y: ["lr"], x: "iteration", file: "lr.png", logScale: true)
            .render(entries: lrEntries, to: folder.appendingPathComponent("lr.png"))
        for name in ["loss.png", "accuracy.png", "loss-log.png", "lr.png"] {
            let size = try #require(pngSize(Data(contentsOf: folder.appendingPathComponent(name))))
            #expect(size.width == 640 && size.height == 480)
        }
    }
}

@Suite struct PlotReportExtensionTests {
    @Test func drawsFromTheLogReportEachEpoch() throws {
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let updater = FakeUpdater(batchesPerEpoch: 4) { iteration in
            Observation([("main/loss", 2 / Double(iteration)), ("main/accuracy", 1 - 1 / Double(iteration + 1))])
        }
        let trainer = Trainer(updater: updater, stopTrigger: .epochs(3), out: out)
        let plot = PlotReport(y: ["main/loss"], x: "epoch", file: "plots/loss.png")
        var sizes: [Int] = []
        let probe = Probe { _ in
            sizes.append((try? Data(contentsOf: out.appendingPathComponent("plots/loss.png")))?.count ?? 0)
        }
        // Registered before the LogReport: its priority still makes it run after it.
        trainer.extend(plot)
        trainer.extend(LogReport())
        trainer.extend(probe, trigger: .epochs(1), priority: ExtensionPriority.reader - 20)
        #expect(plot.name == "PlotReport:plots/loss.png")
        try trainer.run()
        let data = try Data(contentsOf: out.appendingPathComponent("plots/loss.png"))
        #expect(pngSize(data)?.width == 640)
        // Drawn at every epoch, with the entry of that epoch (the image changes each time).
        #expect(sizes.count == 3 && sizes.allSatisfy { $0 > 0 } && Set(sizes).count == 3)
        #expect(plot.plot(log: trainer.firstExtension(of: LogReport.self)!.log).series[0].points.map(\.x) == [1, 2, 3])
    }

    @Test func needsALogReport() throws {
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let trainer = Trainer(updater: FakeUpdater(batchesPerEpoch: 2), stopTrigger: .epochs(1), out: out)
        trainer.extend(PlotReport(y: ["main/loss"], file: "loss.png"))
        #expect(throws: TrainerStateError.self) { try trainer.run() }
    }
}

/// Runs a closure as an extension.
private final class Probe: Extension {
    let body: (Trainer) -> Void
    init(_ body: @escaping (Trainer) -> Void) { self.body = body }
    func callAsFunction(_ trainer: Trainer) throws { body(trainer) }
}
