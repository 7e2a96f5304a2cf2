import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim
import KusariTrain

/// Default demo: the built-in synthetic `shapes` data (no files needed), Adam (lr 0.003), 15
/// epochs (≈95 % validation accuracy in about a minute on 2 cores).
public struct ShapesCNNRecipe: Recipe {
    public init() {}
    public var name: String { "shapes-cnn" }
    public var summary: String { "small CNN on the built-in synthetic shapes data (no download)" }

    public func makeSetup(_ options: TrainingOptions) throws -> TrainingSetup {
        let batch = options.batchSize ?? 64
        let train = Shapes.make(count: 8_000, seed: options.seed &+ 1), validation = Shapes.make(count: 2_000, seed: options.seed &+ 2)
        // Its own weight stream: the run does not depend on what else drew from Generator.default.
        let model = ShapesCNN(classes: train.classNames.count, generator: Generator(seed: options.seed))
        let augment = Compose(RandomCrop(size: 32, padding: 2), RandomHorizontalFlip())
        return TrainingSetup(
            model: model, optimizer: Adam(model, learningRate: options.learningRate ?? 3e-3),
            training: DataLoader(train, batchSize: batch, seed: options.seed, transform: augment, workers: options.workers),
            validation: DataLoader(validation, batchSize: 256, shuffle: false, repeating: false, workers: options.workers),
            epochs: options.epochs ?? 15)
    }
}

/// Seed 001: the Theano CIFAR-10 CNN on ZCA-whitened inputs, 40k/10k train/validation split,
/// MomentumSGD 0.9, lr 0.01, weight decay 1e-4, batch 100, 50 epochs.
public struct TheanoCNNRecipe: Recipe {
    public var channels = 16
    public init(channels: Int = 16) { self.channels = channels }
    public var name: String { "theano-cnn" }
    public var summary: String { "Theano seed CNN on CIFAR-10 (ZCA, 40k/10k split)" }

    public func makeSetup(_ options: TrainingOptions) throws -> TrainingSetup {
        let all = try loadDataset("cifar10", in: options.dataDirectory) {
            try CIFAR10.load(directory: options.dataDirectory, split: .train)
        }
        let train = all.subset(Array(0..<40_000)), validation = all.subset(Array(40_000..<all.count))
        let zca = ZCAWhitening.fit(train, maxSamples: 10_000)
        let model = TheanoCNN(channels: channels)
        let optimizer = MomentumSGD(model, learningRate: options.learningRate ?? 0.01, momentum: 0.9, weightDecay: 1e-4)
        var setup = TrainingSetup(
            model: model, optimizer: optimizer,
            training: DataLoader(train, batchSize: options.batchSize ?? 100, seed: options.seed, workers: options.workers,
                                 batchTransform: zca),
            validation: DataLoader(validation, batchSize: 500, shuffle: false, repeating: false,
                                   workers: options.workers, batchTransform: zca),
            epochs: options.epochs ?? 50)
        setup.preprocessing = zca.stateDict().map { ("zca/" + $0.0, $0.1) }
        setup.snapshotEvery = 10
        return setup
    }
}

/// Seed 003: the TensorFlow CIFAR-10 tutorial (24x24 distortions, per-image standardisation,
/// SGD 0.1 decayed x0.1 every 350 epochs (staircase), parameter EMA 0.9999 for evaluation).
public struct TFCIFAR10Recipe: Recipe {
    public init() {}
    public var name: String { "tf-cifar10" }
    public var summary: String { "TensorFlow CIFAR-10 tutorial model (LRN, exponential decay, EMA)" }

    public func makeSetup(_ options: TrainingOptions) throws -> TrainingSetup {
        let train = try loadDataset("cifar10", in: options.dataDirectory) {
            try CIFAR10.load(directory: options.dataDirectory, split: .train)
        }
        let test = try CIFAR10.load(directory: options.dataDirectory, split: .test)
        let batch = options.batchSize ?? 128
        let distort = Compose(RandomCrop(size: 24), RandomHorizontalFlip(), RandomBrightness(maxDelta: 63.0 / 255),
                              RandomContrast(lower: 0.2, upper: 1.8), PerImageStandardization())
        let evaluate = Compose(CenterCrop(size: 24), PerImageStandardization())
        let model = TFCIFAR10CNN()
        let optimizer = SGD(model, learningRate: options.learningRate ?? 0.1)
        let schedule = ExponentialDecay(initial: options.learningRate ?? 0.1, decayRate: 0.1,
                                        decaySteps: 350 * train.count / batch, staircase: true)
        let ema = ParameterEMA(model, decay: 0.9999)
        var setup = TrainingSetup(
            model: model, optimizer: optimizer,
            training: DataLoader(train, batchSize: batch, seed: options.seed, transform: distort, workers: options.workers),
            validation: DataLoader(test, batchSize: 500, shuffle: false, repeating: false, transform: evaluate,
                                   workers: options.workers),
            epochs: options.epochs ?? 2_560)
        setup.extensions = [LearningRateScheduler(schedule, optimizer: optimizer), ema]
        setup.configureEvaluator = { ema.useForEvaluation($0) }
        setup.snapshotEvery = 10
        return setup
    }
}

/// Seed 004: Chainer's `train_cifar.py` VGG (MomentumSGD lr 0.05 halved every 25 epochs,
/// batch 64, weight decay 5e-4, random crop + flip, 300 epochs).
public struct VGGRecipe: Recipe {
    public let classes: Int
    public init(classes: Int) { self.classes = classes }
    public var name: String { classes == 100 ? "vgg-cifar100" : "vgg-cifar10" }
    public var summary: String { "Chainer's VGG example on CIFAR-\(classes)" }

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
        let model = ChainerVGG(classes: classes)
        let optimizer = MomentumSGD(model, learningRate: lr, momentum: 0.9, weightDecay: 5e-4)
        var setup = TrainingSetup(
            model: model, optimizer: optimizer,
            training: DataLoader(train, batchSize: options.batchSize ?? 64, seed: options.seed,
                                 transform: Compose(RandomCrop(size: 32, padding: 4), RandomHorizontalFlip()),
                                 workers: options.workers),
            validation: DataLoader(test, batchSize: 256, shuffle: false, repeating: false, workers: options.workers),
            epochs: options.epochs ?? 300)
        setup.extensions = [LearningRateScheduler(StepDecay(initial: lr, factor: 0.5, stepEpochs: 25), optimizer: optimizer)]
        setup.snapshotEvery = 10
        return setup
    }
}

/// Seed 000: RCNN(T=4, K=128) on SVHN (train + extra, Maxout validation split, mean image
/// subtracted from raw 0–255 pixels), Adam, batch 1024, 512 epochs, snapshots every 10.
public struct RCNNSVHNRecipe: Recipe {
    public init() {}
    public var name: String { "rcnn-svhn" }
    public var summary: String { "recurrent convolutional network on SVHN (train + extra)" }

    public func makeSetup(_ options: TrainingOptions) throws -> TrainingSetup {
        // `kusari data download svhn` puts the files in DIR/svhn; a plain DIR works too.
        let nested = options.dataDirectory.appendingPathComponent("svhn")
        let directory = FileManager.default.fileExists(atPath: nested.path) ? nested : options.dataDirectory
        var (train, extra) = try loadDataset("svhn", in: options.dataDirectory) { () throws -> (ImageDataset, ImageDataset) in
            (try SVHN.load(directory: directory, split: .train), try SVHN.load(directory: directory, split: .extra))
        }
        train.scale = 1
        extra.scale = 1
        let split = svhnSplit(train: train, extra: extra, seed: options.seed)
        let mean = MeanSubtraction(mean: split.mean, shape: train.imageShape)
        let model = RCNN(steps: 4, channels: 128, classes: 10)
        var setup = TrainingSetup(
            model: model, optimizer: Adam(model, learningRate: options.learningRate ?? 0.001),
            training: DataLoader(split.training, batchSize: options.batchSize ?? 1024, seed: options.seed,
                                 workers: options.workers, batchTransform: mean),
            validation: DataLoader(split.validation, batchSize: 128, shuffle: false, repeating: false,
                                   workers: options.workers, batchTransform: mean),
            epochs: options.epochs ?? 512)
        setup.preprocessing = mean.stateDict().map { ("mean/" + $0.0, $0.1) }
        setup.snapshotEvery = 10
        return setup
    }
}

/// Chainer's MNIST example: MLP 784-1000-1000-10, Adam, batch 100, 20 epochs.
public struct MLPMNISTRecipe: Recipe {
    public init() {}
    public var name: String { "mlp-mnist" }
    public var summary: String { "Chainer's MNIST MLP (784-1000-1000-10, Adam)" }

    public func makeSetup(_ options: TrainingOptions) throws -> TrainingSetup {
        let directory = options.dataDirectory.appendingPathComponent("mnist")
        let (train, test) = try loadDataset("mnist", in: options.dataDirectory) { () throws -> (ImageDataset, ImageDataset) in
            (try MNIST.load(directory: directory, split: .train), try MNIST.load(directory: directory, split: .test))
        }
        let model = MLP()
        return TrainingSetup(
            model: model, optimizer: Adam(model, learningRate: options.learningRate ?? 0.001),
            training: DataLoader(train, batchSize: options.batchSize ?? 100, seed: options.seed, workers: options.workers),
            validation: DataLoader(test, batchSize: 500, shuffle: false, repeating: false, workers: options.workers),
            epochs: options.epochs ?? 20)
    }
}
