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
    /// Preprocessing fitted by an earlier run (its `preprocessing.npz`), reused instead of fitted
    /// again, so that evaluating a saved model sees exactly the inputs it was trained on.
    public var preprocessing: [(String, Tensor)]?
    /// Where the model trains: ``TrainingRun`` moves it there after the recipe builds it, and the
    /// updater and evaluators move each batch there (the GPU backend must be installed first).
    public var device: Device = .cpu
    /// Mixed-precision training (`kusari train --amp`): `.bfloat16` or `.float16` autocast of the
    /// forward pass, float16 with dynamic loss scaling (``KusariTrain/StandardUpdater``); `nil`
    /// (the default) trains in float32.
    public var mixedPrecision: DType?
    /// How float16 training's loss scaler starts and adapts (`kusari train --loss-scale …`).
    public var lossScaling = DynamicLossScaler.Settings()

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
    /// The held-out test data when the validation data is carved from the training files
    /// (theano-cnn's 40k/10k split, rcnn-svhn's split); `nil` when the validation data is the
    /// test set.
    public var test: BatchSource?
    /// Name of each class, by label.
    public var classNames: [String]
    public var epochs: Double
    /// Extensions beyond the standard report set (learning-rate schedules, EMA, …).
    public var extensions: [any Extension] = []
    /// Preprocessing state fitted on the training data (ZCA, mean image), saved with the model.
    public var preprocessing: [(String, Tensor)] = []
    /// A parameter average used for evaluation (the TF tutorial's EMA), run after the other
    /// extensions each iteration and saved as `model_ema.npz` at the end.
    public var ema: ParameterEMA?
    /// Epochs between snapshots.
    public var snapshotEvery: Double = 1
}

/// How `kusari predict` turns an image file into the model's input: the image is resized to
/// ``imageShape``, its pixels multiplied by ``scale``, then ``transform`` applied (as the
/// recipe's evaluation data is prepared).
public struct PredictionInput {
    /// `[C, H, W]` of the decoded, resized image (C = 1 converts to grayscale).
    public var imageShape: [Int]
    /// Factor from 0–255 pixel values to the model's input scale.
    public var scale: Float
    /// Evaluation preprocessing (crop, standardisation, fitted whitening), if any.
    public var transform: (any ImageTransform)?

    public init(imageShape: [Int], scale: Float = 1 / 255, transform: (any ImageTransform)? = nil) {
        self.imageShape = imageShape
        self.scale = scale
        self.transform = transform
    }
}

/// A ready-made training configuration reproducing one of the seeds (or the built-in demo).
public protocol Recipe {
    /// Command-line name, e.g. `theano-cnn`.
    var name: String { get }
    /// One line about what it trains.
    var summary: String { get }
    /// The recipe's network with fresh weights drawn from `generator`.
    func makeModel(generator: Generator) -> any Module & UnaryLayer
    /// Builds the model (weights drawn from `options.seed`), optimizer and data for `options`.
    func makeSetup(_ options: TrainingOptions) throws -> TrainingSetup
    /// How an image becomes the model's input, given the preprocessing saved with the model
    /// (`preprocessing.npz`, empty when the recipe fits none).
    func predictionInput(preprocessing: [(String, Tensor)]) throws -> PredictionInput
    /// The recipe as `kusari train` arguments (`theano-cnn --channels 64`), written to
    /// `recipe.txt` and read back by ``Recipes/parse(_:)``.
    var arguments: String { get }
}

extension Recipe {
    public var arguments: String { name }
}

/// All recipes, by command-line name.
public enum Recipes {
    public static let all: [any Recipe] = [ShapesCNNRecipe(), TheanoCNNRecipe(), TFCIFAR10Recipe(),
                                           VGGRecipe(classes: 10), VGGRecipe(classes: 100), RCNNSVHNRecipe(),
                                           MLPMNISTRecipe()]

    /// The recipe called `name`; `channels` sets the filters of `theano-cnn` (16, 64 or 256 in
    /// the seed) and is refused for other recipes.
    public static func named(_ name: String, channels: Int? = nil) -> (any Recipe)? {
        guard let channels else { return all.first { $0.name == name } }
        return name == "theano-cnn" && channels > 0 ? TheanoCNNRecipe(channels: channels) : nil
    }

    /// The recipe spelled as ``Recipe/arguments`` (`recipe.txt`): a name, optionally followed by
    /// `--channels N`.
    public static func parse(_ arguments: String) -> (any Recipe)? {
        let words = arguments.split(whereSeparator: \.isWhitespace).map(String.init)
        switch words.count {
        case 1: return named(words[0])
        case 3 where words[1] == "--channels": return Int(words[2]).flatMap { named(words[0], channels: $0) }
        default: return nil
        }
    }
}

/// The entries of `state` under `prefix` (`zca/mean` → `mean`), for a fitted transform's
/// ``FittedTransform/init(stateDict:)``.
func entries(_ state: [(String, Tensor)], under prefix: String) -> [(String, Tensor)] {
    state.filter { $0.0.hasPrefix(prefix) }.map { (String($0.0.dropFirst(prefix.count)), $0.1) }
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
