import Foundation
import Testing
import Kusari
import KusariData
import KusariTrain
@testable import KusariModels

/// The default recipe, end to end as `kusari train shapes-cnn -e 3` runs it.
struct ShapesTrainingTests {
    @Test func threeEpochsOfShapesLearnAndLeaveTheOutputs() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("kusari-shapes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        var options = TrainingOptions(dataDirectory: out, out: out)
        options.epochs = 3
        let report = TextBuffer()
        let run = try TrainingRun(recipe: ShapesCNNRecipe(), options: options, output: .buffer(report))
        try run.run()

        let log = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("log"))) as! [[String: Any]]
        #expect(log.count == 3)
        let accuracy = log.last!["validation/main/accuracy"] as! Double
        #expect(accuracy > 0.6, "validation accuracy after 3 epochs: \(accuracy)")
        #expect((log.last!["main/loss"] as! Double) < (log.first!["main/loss"] as! Double))
        for file in ["loss.png", "accuracy.png", "model.npz", "snapshot_iter_375.npz"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "missing \(file)")
        }
        #expect(report.text.hasPrefix("epoch       main/loss"))
    }

    @Test func missingDatasetsSayHowToDownloadThem() {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("kusari-empty-\(UUID().uuidString)")
        #expect {
            _ = try TheanoCNNRecipe().makeSetup(TrainingOptions(dataDirectory: empty, out: empty))
        } throws: { error in
            String(describing: error).contains("kusari data download cifar10")
        }
    }
}
