import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim
import KusariTrain

/// Settings of one training run; `nil` fields take the recipe's (the seed's) defaults.
public struct TrainingOptions: Sendable {
    public var dataDirectory: URL
    public var out: URL
    public var epochs: Double?
    public var batchSize: Int?
    public var learningRate: Float?
    public var seed: UInt64 = 0
    public var workers: Int = 2
    /// Iterations between progress-bar redraws.
    public var progressInterval: Int = 10
    /// Epochs between snapshots (default: the recipe's).
    public var snapshotEvery: Double?

    public init(dataDirectory: URL, out: URL) {
        self.dataDirectory = dataDirectory
        self.out = out
    }
}

/// Everything a recipe prepares for a run: the model, its optimizer, the data, and the recipe's
/// extra extensions (schedules, EMA).
public struct TrainingSetup {
    public var model: Module & UnaryLayer
    public var optimizer: Optimizer
    public var training: BatchSource
    public var validation: BatchSource
    public var epochs: Double
    /// Extensions beyond the standard report set (learning-rate schedules, EMA, …).
    public var extensions: [any Extension] = []
    /// Preprocessing state fitted on the training data (ZCA, mean image), saved with the model.
    public var preprocessing: [(String, Tensor)] = []
    /// Evaluation hook (EMA weights) installed on the evaluator.
    public var configureEvaluator: ((Evaluator) -> Void)?
    /// Epochs between snapshots.
    public var snapshotEvery: Double = 1
}

/// A ready-made training configuration reproducing one of the seeds (or the built-in demo).
public protocol Recipe {
    /// Command-line name, e.g. `theano-cnn`.
    var name: String { get }
    /// One line about what it trains.
    var summary: String { get }
    /// Builds the model, optimizer and data for `options`.
    func makeSetup(_ options: TrainingOptions) throws -> TrainingSetup
}

/// All recipes, by command-line name.
public enum Recipes {
    public static let all: [any Recipe] = [ShapesCNNRecipe(), TheanoCNNRecipe(), TFCIFAR10Recipe(),
                                           VGGRecipe(classes: 10), VGGRecipe(classes: 100), RCNNSVHNRecipe(),
                                           MLPMNISTRecipe()]

    /// The recipe called `name`.
    public static func named(_ name: String) -> (any Recipe)? { all.first { $0.name == name } }
}

/// A recipe's dataset was not found: says where it looked and how to get it.
public struct MissingDatasetError: Error, CustomStringConvertible {
    public let dataset: String
    public let directory: URL
    public let underlying: String

    public var description: String {
        "\(dataset) was not found under \(directory.path) (\(underlying)).\n"
            + "Download it with: kusari data download \(dataset) --to \(directory.path)"
    }
}

/// Loads a dataset, turning a missing file into a ``MissingDatasetError`` with download advice.
func loadDataset<T>(_ name: String, in directory: URL, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as DatasetError {
        if error.message.contains("No such file") || error.message.contains("not found") || error.message.contains("does not exist")
            || !FileManager.default.fileExists(atPath: error.file) {
            throw MissingDatasetError(dataset: name, directory: directory, underlying: error.description)
        }
        throw error
    }
}
