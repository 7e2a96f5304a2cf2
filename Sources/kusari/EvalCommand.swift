import ArgumentParser
import Foundation
import Kusari
import KusariModels
import KusariTrain

/// `kusari eval MODEL.npz`: evaluates a trained model on its recipe's validation/test data.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a saved model (mini-batched, no-grad) on its recipe's evaluation data.")

    @Argument(help: "The model file written by `kusari train` (e.g. result/model.npz).") var model: String
    @Option(help: "Recipe that built the model (default: read from recipe.txt beside the model).") var recipe: String?
    @Option(help: "Folder holding the datasets.") var dataDir = "../shared/datasets"
    @Option(help: "Threads for the math (default: all cores).") var threads: Int?

    func run() throws {
        if let threads { Threading.threadCount = threads }
        let modelURL = URL(fileURLWithPath: model)
        let recipeFile = modelURL.deletingLastPathComponent().appendingPathComponent("recipe.txt")
        guard let name = recipe ?? (try? String(contentsOf: recipeFile, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) else {
            throw ValidationError("no --recipe given and no \(recipeFile.path) beside the model")
        }
        guard let chosen = Recipes.named(name) else { throw ValidationError("unknown recipe '\(name)'") }
        let options = TrainingOptions(dataDirectory: URL(fileURLWithPath: dataDir),
                                      out: modelURL.deletingLastPathComponent())
        let setup: TrainingSetup
        do { setup = try chosen.makeSetup(options) } catch let error as MissingDatasetError {
            throw ValidationError(error.description)
        }
        try setup.model.load(from: modelURL)
        let result = try Evaluator(source: setup.validation, model: setup.model).evaluate()
        print("\(name): loss \(String(format: "%.4f", result["validation/main/loss"] ?? .nan)), "
              + "accuracy \(String(format: "%.2f", 100 * (result["validation/main/accuracy"] ?? .nan))) %")
    }
}
