import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim

/// Chainer's MNIST example: MLP 784-1000-1000-10, Adam, batch 100, 20 epochs.
public struct MLPMNISTRecipe: Recipe {
    public init() {}
    public var name: String { "mlp-mnist" }
    public var summary: String { "Chainer's MNIST MLP (784-1000-1000-10, Adam)" }

    public func makeModel(generator: Generator) -> any Module & UnaryLayer { MLP(generator: generator) }

    public func makeSetup(_ options: TrainingOptions) throws -> TrainingSetup {
        let (train, test) = try loadDataset("mnist", in: options.dataDirectory) { () throws -> (ImageDataset, ImageDataset) in
            (try MNIST.load(directory: options.dataDirectory, split: .train),
             try MNIST.load(directory: options.dataDirectory, split: .test))
        }
        let model = makeModel(generator: Generator(seed: options.seed))
        return TrainingSetup(
            model: model, optimizer: Adam(model, learningRate: options.learningRate ?? 0.001),
            training: DataLoader(train, batchSize: options.batchSize ?? 100, seed: options.seed, workers: options.workers),
            validation: DataLoader(test, batchSize: 500, shuffle: false, repeating: false, workers: options.workers),
            classNames: train.classNames, epochs: options.epochs ?? 20)
    }

    public func predictionInput(preprocessing: [(String, Tensor)]) throws -> PredictionInput {
        PredictionInput(imageShape: [1, 28, 28])
    }
}
