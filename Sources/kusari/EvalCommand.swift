import ArgumentParser
import Foundation
import Kusari
import KusariModels
import KusariTrain

/// `kusari eval MODEL.npz`: evaluates a trained model on its recipe's validation or test data.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a saved model (mini-batched, no-grad) on its recipe's evaluation data.",
        discussion: "The recipe and fitted preprocessing are read from recipe.txt and preprocessing.npz beside the model.")

    @Argument(help: "The model file written by `kusari train` (e.g. result/model.npz or result/model_ema.npz).") var model: String
    @Option(help: "Recipe that built the model (default: read from recipe.txt beside the model).") var recipe: String?
    @Option(help: "Folder holding the datasets.") var dataDir = "../shared/datasets"
    @Option(help: "validation, or test for recipes whose validation data is carved from the training files.") var split = "validation"
    @Option(help: "Threads for the math (default: all cores).") var threads: Int?

    func run() throws {
        if let threads { Threading.threadCount = threads }
        guard split == "validation" || split == "test" else { throw ValidationError("--split must be validation or test") }
        let modelURL = URL(fileURLWithPath: model)
        let saved: SavedModel
        do { saved = try SavedModel(url: modelURL, recipeName: recipe) } catch let error as SavedModelError {
            throw ValidationError(error.description)
        }
        let result: TestResult
        do {
            result = try saved.evaluate(dataDirectory: URL(fileURLWithPath: dataDir), test: split == "test")
        } catch let error as MissingDatasetError {
            throw ValidationError(error.description)
        }
        print("\(saved.recipe.name) " + result.line)
    }
}
