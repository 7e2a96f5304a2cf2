import ArgumentParser
import Foundation
import Kusari
import KusariModels

/// `kusari predict MODEL.npz IMAGE...`: the most probable classes of image files.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify PNG/JPEG images with a saved model, printing the top-k classes.",
        discussion: "Images are resized to the recipe's input size and preprocessed as its evaluation data "
            + "(using preprocessing.npz beside the model); class names come from classes.txt.")

    @Argument(help: "The model file written by `kusari train` (e.g. result/model.npz).") var model: String
    @Argument(help: "PNG or JPEG files.") var images: [String]
    @Option(help: "Recipe that built the model (default: read from recipe.txt beside the model).") var recipe: String?
    @Option(name: [.customShort("k"), .long], help: "How many classes to print per image.") var top = 5

    func run() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
        guard top > 0 else { throw ValidationError("--top must be positive") }
        let saved: SavedModel
        do { saved = try SavedModel(url: URL(fileURLWithPath: model), recipeName: recipe) } catch let error as SavedModelError {
            throw ValidationError(error.description)
        }
        let results = try saved.predict(images.map { URL(fileURLWithPath: $0) }, top: top)
        for (path, predictions) in zip(images, results) {
            print(path)
            for prediction in predictions {
                print("  \(String(format: "%6.2f", 100 * prediction.probability)) %  \(prediction.name) (\(prediction.label))")
            }
        }
    }
}
