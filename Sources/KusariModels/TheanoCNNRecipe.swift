import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim

/// Seed 001: the Theano CIFAR-10 CNN on ZCA-whitened inputs, 40k/10k train/validation split
/// (test on the official test batch at the end), MomentumSGD 0.9, lr 0.01, weight decay 1e-4,
/// batch 100, 50 epochs. As in the seed, the whole dataset is whitened once before training.
public struct TheanoCNNRecipe: Recipe {
    public var channels = 16
    public init(channels: Int = 16) { self.channels = channels }
    public var name: String { "theano-cnn" }
    public var summary: String { "Theano seed CNN on CIFAR-10 (ZCA, 40k/10k split; --channels 16|64|256)" }
    public var arguments: String { channels == 16 ? name : "\(name) --channels \(channels)" }

    public func makeModel(generator: Generator) -> any Module & UnaryLayer {
        TheanoCNN(channels: channels, generator: generator)
    }

    public func makeSetup(_ options: TrainingOptions) throws -> TrainingSetup {
        let (all, test) = try loadDataset("cifar10", in: options.dataDirectory) { () throws -> (ImageDataset, ImageDataset) in
            (try CIFAR10.load(directory: options.dataDirectory, split: .train),
             try CIFAR10.load(directory: options.dataDirectory, split: .test))
        }
        let train = all.subset(Array(0..<40_000)), validation = all.subset(Array(40_000..<all.count))
        let zca = try options.preprocessing.map { try ZCAWhitening(stateDict: entries($0, under: "zca/")) }
            ?? ZCAWhitening.fit(train, maxSamples: 10_000)
        let model = makeModel(generator: Generator(seed: options.seed))
        let optimizer = MomentumSGD(model, learningRate: options.learningRate ?? 0.01, momentum: 0.9, weightDecay: 1e-4)
        func evaluation(_ data: ImageDataset) -> DataLoader<FloatImageDataset> {
            DataLoader(data.preprocessed(by: zca), batchSize: 500, shuffle: false, repeating: false, workers: options.workers)
        }
        var setup = TrainingSetup(
            model: model, optimizer: optimizer,
            training: DataLoader(train.preprocessed(by: zca), batchSize: options.batchSize ?? 100, seed: options.seed,
                                 workers: options.workers),
            validation: evaluation(validation), classNames: all.classNames, epochs: options.epochs ?? 50)
        setup.test = evaluation(test)
        setup.preprocessing = zca.stateDict().map { ("zca/" + $0.0, $0.1) }
        setup.snapshotEvery = 10
        return setup
    }

    public func predictionInput(preprocessing: [(String, Tensor)]) throws -> PredictionInput {
        PredictionInput(imageShape: [3, 32, 32], transform: try ZCAWhitening(stateDict: entries(preprocessing, under: "zca/")))
    }
}
