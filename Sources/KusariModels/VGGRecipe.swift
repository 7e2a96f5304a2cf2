import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim
import KusariTrain

/// Seed 004: Chainer's `train_cifar.py` VGG (MomentumSGD lr 0.05 halved every 25 epochs,
/// batch 64, weight decay 5e-4, random crop + flip, 300 epochs).
public struct VGGRecipe: Recipe {
    public let classes: Int
    public init(classes: Int) { self.classes = classes }
    public var name: String { classes == 100 ? "vgg-cifar100" : "vgg-cifar10" }
    public var summary: String { "Chainer's VGG example on CIFAR-\(classes)" }

    public func makeModel(generator: Generator) -> any Module & UnaryLayer {
        ChainerVGG(classes: classes, generator: generator)
    }

    public func makeSetup(_ options: TrainingOptions) throws -> TrainingSetup {
        let dataset = classes == 100 ? "cifar100" : "cifar10"
        let (train, test) = try loadDataset(dataset, in: options.dataDirectory) { () throws -> (ImageDataset, ImageDataset) in
            classes == 100
                ? (try CIFAR100.load(directory: options.dataDirectory, split: .train),
                   try CIFAR100.load(directory: options.dataDirectory, split: .test))
                : (try CIFAR10.load(directory: options.dataDirectory, split: .train),
                   try CIFAR10.load(directory: options.dataDirectory, split: .test))
        }
        let lr = options.learningRate ?? 0.05
        let model = makeModel(generator: Generator(seed: options.seed))
        let optimizer = MomentumSGD(model, learningRate: lr, momentum: 0.9, weightDecay: 5e-4)
        var setup = TrainingSetup(
            model: model, optimizer: optimizer,
            training: DataLoader(train, batchSize: options.batchSize ?? 64, seed: options.seed,
                                 transform: Compose(RandomCrop(size: 32, padding: 4), RandomHorizontalFlip()),
                                 workers: options.workers),
            validation: DataLoader(test, batchSize: 256, shuffle: false, repeating: false, workers: options.workers),
            classNames: train.classNames, epochs: options.epochs ?? 300)
        setup.extensions = [LearningRateScheduler(StepDecay(initial: lr, factor: 0.5, stepEpochs: 25), optimizer: optimizer)]
        setup.snapshotEvery = 10
        return setup
    }

    public func predictionInput(preprocessing: [(String, Tensor)]) throws -> PredictionInput {
        PredictionInput(imageShape: [3, 32, 32])
    }
}
