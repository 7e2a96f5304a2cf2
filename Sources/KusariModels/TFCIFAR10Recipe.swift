import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim
import KusariTrain

/// Seed 003: the TensorFlow CIFAR-10 tutorial (24x24 distortions, per-image standardisation,
/// batch 128, SGD 0.1 decayed x0.1 every 350 epochs (staircase), L2 weight decay 0.004 on the
/// two hidden fully connected layers' weights, parameter EMA 0.9999 for evaluation).
public struct TFCIFAR10Recipe: Recipe {
    public init() {}
    public var name: String { "tf-cifar10" }
    public var summary: String { "TensorFlow CIFAR-10 tutorial model (LRN, exponential decay, EMA)" }

    /// The tutorial's evaluation input: the central 24x24 crop, standardised.
    static let evaluationTransform = Compose(CenterCrop(size: 24), PerImageStandardization())

    public func makeModel(generator: Generator) -> any Module & UnaryLayer { TFCIFAR10CNN(generator: generator) }

    public func makeSetup(_ options: TrainingOptions) throws -> TrainingSetup {
        let (train, test) = try loadDataset("cifar10", in: options.dataDirectory) { () throws -> (ImageDataset, ImageDataset) in
            (try CIFAR10.load(directory: options.dataDirectory, split: .train),
             try CIFAR10.load(directory: options.dataDirectory, split: .test))
        }
        let batch = options.batchSize ?? 128
        let distort = Compose(RandomCrop(size: 24), RandomHorizontalFlip(), RandomBrightness(maxDelta: 63.0 / 255),
                              RandomContrast(lower: 0.2, upper: 1.8), PerImageStandardization())
        let model = makeModel(generator: Generator(seed: options.seed))
        let optimizer = SGD(model, learningRate: options.learningRate ?? 0.1)
        optimizer.setWeightDecay(0.004, forParameters: TFCIFAR10CNN.weightDecayedParameters)
        let schedule = ExponentialDecay(initial: options.learningRate ?? 0.1, decayRate: 0.1,
                                        decaySteps: 350 * train.count / batch, staircase: true)
        let ema = ParameterEMA(model, decay: 0.9999)
        var setup = TrainingSetup(
            model: model, optimizer: optimizer,
            training: DataLoader(train, batchSize: batch, seed: options.seed, transform: distort, workers: options.workers),
            validation: DataLoader(test, batchSize: 500, shuffle: false, repeating: false,
                                   transform: Self.evaluationTransform, workers: options.workers),
            classNames: train.classNames, epochs: options.epochs ?? 2_560)
        setup.extensions = [LearningRateScheduler(schedule, optimizer: optimizer)]
        setup.ema = ema
        setup.snapshotEvery = 10
        return setup
    }

    public func predictionInput(preprocessing: [(String, Tensor)]) throws -> PredictionInput {
        PredictionInput(imageShape: [3, 32, 32], transform: Self.evaluationTransform)
    }
}
