import Foundation
import Kusari
import KusariData
import KusariNN
import KusariTrain

/// A model written by `kusari train`: `model.npz` (or `model_ema.npz`) with the files
/// ``TrainingRun`` puts beside it — `recipe.txt`, `classes.txt` and `preprocessing.npz`.
public struct SavedModel {
    /// The weights file.
    public let url: URL
    /// The recipe that built the model.
    public let recipe: any Recipe
    /// Fitted preprocessing from `preprocessing.npz` (empty when the recipe fits none).
    public let preprocessing: [(String, Tensor)]
    /// Class names from `classes.txt`, by label (`nil` when the file is absent).
    public let classNames: [String]?

    /// Reads the files beside `url`; `recipeName` (as in `recipe.txt`: `theano-cnn --channels 64`)
    /// overrides `recipe.txt`.
    /// - Throws: ``SavedModelError`` when the recipe is unknown or not recorded, or a
    ///   serialization error for an unreadable `preprocessing.npz`.
    public init(url: URL, recipeName: String? = nil) throws {
        let folder = url.deletingLastPathComponent()
        let recipeFile = folder.appendingPathComponent("recipe.txt")
        guard let name = recipeName ?? (try? String(contentsOf: recipeFile, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) else {
            throw SavedModelError("no recipe given and no \(recipeFile.path) beside the model")
        }
        guard let recipe = Recipes.parse(name) else {
            throw SavedModelError("unknown recipe '\(name)'; one of: \(Recipes.all.map(\.name).joined(separator: ", "))")
        }
        let preprocessingFile = folder.appendingPathComponent("preprocessing.npz")
        if FileManager.default.fileExists(atPath: preprocessingFile.path) {
            preprocessing = try NPZ.readOrdered(from: preprocessingFile).map { ($0.name, Tensor(npy: $0.array)) }
        } else {
            preprocessing = []
        }
        let classesFile = folder.appendingPathComponent("classes.txt")
        classNames = (try? String(contentsOf: classesFile, encoding: .utf8))?
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        self.url = url
        self.recipe = recipe
    }

    /// The recipe's network with the saved weights, in evaluation mode.
    public func loadModel() throws -> any Module & UnaryLayer {
        let model = recipe.makeModel(generator: Generator(seed: 0))
        try model.load(from: url)
        _ = model.eval()
        return model
    }

    /// Evaluates the saved weights on the recipe's `validation` data or, with `test`, its held-out
    /// test data (the validation data when that is the test set), using the saved preprocessing.
    /// - Throws: ``MissingDatasetError`` when the recipe's dataset is not under `dataDirectory`.
    public func evaluate(dataDirectory: URL, test: Bool = false) throws -> TestResult {
        var options = TrainingOptions(dataDirectory: dataDirectory, out: url.deletingLastPathComponent())
        options.preprocessing = preprocessing.isEmpty ? nil : preprocessing
        let setup = try recipe.makeSetup(options)
        try setup.model.load(from: url)
        let source = test ? setup.test ?? setup.validation : setup.validation
        let prefix = test ? "test" : "validation"
        return TestResult(try Evaluator(source: source, model: setup.model, prefix: prefix).evaluate(), prefix: prefix)
    }

    /// The `k` most probable classes of each image file (PNG or JPEG, any size: resized to the
    /// recipe's input size, then preprocessed as the recipe's evaluation data).
    public func predict(_ images: [URL], top k: Int = 5) throws -> [[Prediction]] {
        let input = try recipe.predictionInput(preprocessing: preprocessing)
        let (channels, height, width) = (input.imageShape[0], input.imageShape[1], input.imageShape[2])
        var examples: [LabeledImage] = []
        for url in images {
            let decoded = try ImageCodec.readImage(url, channels: channels)
            let resized = ImageCodec.resize(decoded.pixels, shape: decoded.shape, to: (height, width))
            var image = LabeledImage(pixels: resized.map { Float($0) * input.scale }, shape: input.imageShape, label: 0)
            if let transform = input.transform { image = transform.apply(image) }
            examples.append(image)
        }
        guard let shape = examples.first?.shape else { return [] }
        let batch = Tensor(examples.flatMap(\.pixels), shape: [examples.count] + shape)
        let model = try loadModel()
        let probabilities = withNoGrad { softmax(model(batch), axis: 1) }.scalars
        let classes = probabilities.count / examples.count
        return (0..<examples.count).map { row in
            let scores = probabilities[(row * classes)..<((row + 1) * classes)]
            return scores.indices.sorted { scores[$0] > scores[$1] }.prefix(k).map { index in
                let label = index - row * classes
                let name = classNames.flatMap { label < $0.count ? $0[label] : nil } ?? String(label)
                return Prediction(label: label, name: name, probability: scores[index])
            }
        }
    }
}

/// One class of a ``SavedModel/predict(_:top:)`` answer.
public struct Prediction: Equatable, Sendable {
    public let label: Int
    public let name: String
    public let probability: Float
}

/// Why a saved model could not be used.
public struct SavedModelError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
