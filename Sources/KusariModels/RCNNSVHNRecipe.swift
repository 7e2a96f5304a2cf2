import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim

/// Seed 000: RCNN(T=4, K=128) on SVHN (train + extra, Maxout validation split, mean image
/// subtracted from raw 0–255 pixels), Adam, batch 1024, 512 epochs, snapshots every 10.
public struct RCNNSVHNRecipe: Recipe {
    public init() {}
    public var name: String { "rcnn-svhn" }
    public var summary: String { "recurrent convolutional network on SVHN (train + extra)" }

    public func makeModel(generator: Generator) -> any Module & UnaryLayer {
        RCNN(steps: 4, channels: 128, classes: 10, generator: generator)
    }

    public func makeSetup(_ options: TrainingOptions) throws -> TrainingSetup {
        // `kusari data download svhn` puts the files in DIR/svhn; a plain DIR works too.
        let nested = options.dataDirectory.appendingPathComponent("svhn")
        let directory = FileManager.default.fileExists(atPath: nested.path) ? nested : options.dataDirectory
        var (train, extra, test) = try loadDataset("svhn", in: options.dataDirectory) {
            () throws -> (ImageDataset, ImageDataset, ImageDataset) in
            (try SVHN.load(directory: directory, split: .train), try SVHN.load(directory: directory, split: .extra),
             try SVHN.load(directory: directory, split: .test))
        }
        train.scale = 1
        extra.scale = 1
        test.scale = 1
        let split = svhnSplit(train: train, extra: extra, seed: options.seed)
        let mean = try options.preprocessing.map { try MeanSubtraction(stateDict: entries($0, under: "mean/")) }
            ?? MeanSubtraction(mean: split.mean, shape: train.imageShape)
        let model = makeModel(generator: Generator(seed: options.seed))
        func evaluation(_ data: ImageDataset) -> DataLoader<ImageDataset> {
            DataLoader(data, batchSize: 128, shuffle: false, repeating: false, workers: options.workers, batchTransform: mean)
        }
        var setup = TrainingSetup(
            model: model, optimizer: Adam(model, learningRate: options.learningRate ?? 0.001),
            training: DataLoader(split.training, batchSize: options.batchSize ?? 1024, seed: options.seed,
                                 workers: options.workers, batchTransform: mean),
            validation: evaluation(split.validation), classNames: train.classNames, epochs: options.epochs ?? 512)
        setup.test = evaluation(test)
        setup.preprocessing = mean.stateDict().map { ("mean/" + $0.0, $0.1) }
        setup.snapshotEvery = 10
        return setup
    }

    public func predictionInput(preprocessing: [(String, Tensor)]) throws -> PredictionInput {
        PredictionInput(imageShape: [3, 32, 32], scale: 1,
                        transform: try MeanSubtraction(stateDict: entries(preprocessing, under: "mean/")))
    }
}
