import ArgumentParser
import Foundation
import Kusari
import KusariModels
import KusariTrain

/// `kusari train RECIPE`: trains one of the seed recipes with Chainer-style reports.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a recipe, printing Chainer's report table and a progress bar.",
        discussion: "Recipes:\n" + Recipes.all.map { "  \($0.name): \($0.summary)" }.joined(separator: "\n")
            + "\nThe output folder gets log, loss.png, accuracy.png, snapshots and model.npz.")

    @Argument(help: "The recipe to train (default shapes-cnn).") var recipe = "shapes-cnn"
    @Option(help: "Folder holding the datasets, as their archives extract.") var dataDir = "../shared/datasets"
    @Option(help: "Device to train on: cpu, cuda (GPU 0) or cuda:N.") var device = "cpu"
    @Option(name: [.customShort("g"), .long], help: "Chainer-style GPU id (-1 = CPU); overrides --device.") var gpu: Int?
    @Flag(help: "Use deterministic algorithms only, so runs from the same seed give identical weights (slower on a GPU).")
    var deterministic = false
    @Flag(help: "GPU only: let float32 products use TF32 tensor cores (faster, about 1e-3 relative error).")
    var tf32 = false
    @OptionGroup var mixedPrecision: MixedPrecisionOptions
    @Option(name: [.customShort("e"), .long], help: "Epochs (default: the seed's).") var epochs: Double?
    @Option(name: [.customShort("b"), .long], help: "Mini-batch size (default: the seed's).") var batchSize: Int?
    @Option(help: "Initial learning rate (default: the seed's).") var lr: Float?
    @Option(help: "Random seed for initialisation, shuffling and augmentation.") var seed: UInt64 = 0
    @Option(name: [.customShort("o"), .long], help: "Output folder.") var out = "result"
    @Option(help: "Snapshot to resume from (exact continuation).") var resume: String?
    @Option(help: "theano-cnn only: filters of the convolution (the seed tried 16, 64 and 256).") var channels: Int?
    @Option(help: "Data-loading threads.") var workers = 2
    @Option(help: "Threads for the math (default: all cores).") var threads: Int?
    @Option(help: "Epochs between snapshots (default: the recipe's).") var snapshotEvery: Double?

    func run() throws {
        guard let chosen = Recipes.named(recipe, channels: channels) else {
            if channels != nil { throw ValidationError("--channels takes a positive count and applies to theano-cnn only") }
            throw ValidationError("unknown recipe '\(recipe)'; one of: \(Recipes.all.map(\.name).joined(separator: ", "))")
        }
        let target = try parseDevice(device, gpu: gpu)
        try requireComputeDevice(target, deterministic: deterministic, allowsTF32: tf32)
        if let threads { Threading.threadCount = threads }
        Generator.default.manualSeed(seed)
        var options = TrainingOptions(dataDirectory: URL(fileURLWithPath: dataDir), out: URL(fileURLWithPath: out))
        options.epochs = epochs
        options.batchSize = batchSize
        options.learningRate = lr
        options.seed = seed
        options.workers = workers
        options.snapshotEvery = snapshotEvery
        options.device = target
        options.mixedPrecision = try mixedPrecision.dtype()
        options.lossScaling = try mixedPrecision.lossScaling()
        do {
            let run = try TrainingRun(recipe: chosen, options: options)
            try run.run(resumingFrom: resume.map { URL(fileURLWithPath: $0) })
        } catch let error as MissingDatasetError {
            throw ValidationError(error.description)
        }
    }
}
