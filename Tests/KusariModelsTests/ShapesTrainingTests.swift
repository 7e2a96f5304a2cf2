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
        try checkSavedModel(in: out, validationAccuracy: accuracy)
    }

    /// `kusari eval` and `kusari predict` on the model the run left: evaluation reproduces the
    /// log's last validation accuracy, and predictions on PNG files of validation images are
    /// mostly right, sorted, named from classes.txt.
    private func checkSavedModel(in out: URL, validationAccuracy: Double) throws {
        let saved = try SavedModel(url: out.appendingPathComponent("model.npz"))
        #expect(saved.recipe.name == "shapes-cnn" && saved.classNames == Shapes.classNames)
        let evaluated = try saved.evaluate(dataDirectory: out)
        #expect(Swift.abs(evaluated.accuracy - validationAccuracy) < 1e-9 && evaluated.prefix == "validation")

        let validation = Shapes.make(count: 40, seed: 2)
        var files: [URL] = []
        for index in 0..<validation.count {
            let file = out.appendingPathComponent("image\(index).png")
            let size = validation.imageSize
            try ImageCodec.writePNG(pixels: Array(validation.images[(index * size)..<((index + 1) * size)]),
                                    shape: validation.imageShape, to: file)
            files.append(file)
        }
        let predictions = try saved.predict(files, top: 3)
        #expect(predictions.count == files.count && predictions.allSatisfy { $0.count == 3 })
        let correct = zip(predictions, validation.labels).filter { $0.0[0].label == Int($0.1) }.count
        #expect(correct >= 24, "\(correct) of 40 predictions right")
        for top in predictions {
            #expect(top[0].probability >= top[1].probability && top[1].probability >= top[2].probability)
            #expect(top.map(\.probability).reduce(0, +) <= 1.0001 && top[0].name == Shapes.classNames[top[0].label])
        }
    }

    @Test func savedModelsNeedARecipe() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kusari-saved-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("model.npz")
        #expect { _ = try SavedModel(url: model) } throws: { String(describing: $0).contains("recipe.txt") }
        try Data("no-such-recipe".utf8).write(to: folder.appendingPathComponent("recipe.txt"))
        #expect { _ = try SavedModel(url: model) } throws: { String(describing: $0).contains("unknown recipe 'no-such-recipe'") }
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
