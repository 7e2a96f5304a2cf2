import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim
import KusariTrain

/// Builds the Chainer-style trainer around a recipe's setup: classifier updater, evaluator,
/// log, printed report, progress bar, loss/accuracy plots, snapshots, NaN guard and the final
/// `model.npz`, and runs it (optionally resuming from a snapshot).
///
/// Beside the model, the output folder gets what `kusari eval` and `kusari predict` need:
/// `recipe.txt` (the recipe's name and options), `classes.txt` (one class name per line, by label),
/// `preprocessing.npz` (fitted transforms, when the recipe has any) and `model_ema.npz` (the
/// averaged weights, for recipes evaluated with a parameter EMA).
///
/// With ``TrainingOptions/device`` set to a GPU, the model moves there once the recipe has built
/// it (optimizer state and parameter averages follow it), and every batch is moved there before
/// the loss (sources that can, like ``KusariData/DataLoader``, assemble their batches in the
/// GPU's pinned memory for asynchronous uploads); checkpoints and snapshots still hold host data. ``TrainingOptions/mixedPrecision``
/// trains with autocast (and, for float16, dynamic loss scaling); evaluation stays float32.
public struct TrainingRun {
    public let setup: TrainingSetup
    public let trainer: Trainer
    /// The recipe's ``Recipe/arguments``, written to `out/recipe.txt` so `kusari eval` knows how
    /// to rebuild the model.
    public let recipeArguments: String
    /// Where the model trains (``TrainingOptions/device``).
    public let device: Device
    private let output: TextOutput

    /// Builds the recipe's setup for `options`, moves the model to `options.device` (and pins
    /// the sources' batches for it) and assembles the trainer.
    /// - Throws: the recipe's errors (such as ``MissingDatasetError``), or the device's when the
    ///   model cannot be moved there.
    public init(recipe: any Recipe, options: TrainingOptions, output: TextOutput = .standardOutput) throws {
        let setup = try recipe.makeSetup(options)
        try setup.model.move(to: options.device)
        for source in [setup.training, setup.validation] + [setup.test].compactMap({ $0 }) {
            (source as? PinnedBatchSource)?.pinMemory(for: options.device)
        }
        let updater = StandardUpdater(source: setup.training, model: setup.model, optimizer: setup.optimizer,
                                      loss: ClassifierLoss().function, device: options.device,
                                      mixedPrecision: options.mixedPrecision, lossScaling: options.lossScaling)
        let trainer = Trainer(updater: updater, stopTrigger: .epochs(setup.epochs), out: options.out)
        let evaluator = Evaluator(source: setup.validation, model: setup.model, device: options.device)
        for ext in setup.extensions { trainer.extend(ext) }
        if let ema = setup.ema {
            ema.useForEvaluation(evaluator)
            trainer.extend(ema)
        }
        trainer.extend(evaluator)
        trainer.extend(LogReport())
        trainer.extend(PrintReport(entries: ["epoch", "main/loss", "validation/main/loss", "main/accuracy",
                                             "validation/main/accuracy", "elapsed_time"], out: output))
        trainer.extend(ProgressBar(updateInterval: options.progressInterval, out: output))
        trainer.extend(PlotReport(y: ["main/loss", "validation/main/loss"], x: "epoch", file: "loss.png"))
        trainer.extend(PlotReport(y: ["main/accuracy", "validation/main/accuracy"], x: "epoch", file: "accuracy.png"))
        trainer.extend(Snapshot(trigger: .epochs(options.snapshotEvery ?? setup.snapshotEvery), keep: 3))
        trainer.extend(NaNGuard())
        trainer.extend(FinalModel())
        self.setup = setup
        self.trainer = trainer
        self.output = output
        self.device = options.device
        recipeArguments = recipe.arguments
    }

    /// Trains to the end (continuing from `snapshot` when given), then writes the fitted
    /// preprocessing and averaged weights beside the model and, when the recipe holds out a
    /// test set, evaluates the final model on it (the Theano seed's "test at the end").
    public func run(resumingFrom snapshot: URL? = nil) throws {
        if let snapshot { try trainer.resume(from: snapshot) }
        let out = trainer.out
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data(recipeArguments.utf8).write(to: out.appendingPathComponent("recipe.txt"), options: .atomic)
        try Data(setup.classNames.joined(separator: "\n").utf8).write(to: out.appendingPathComponent("classes.txt"),
                                                                      options: .atomic)
        try trainer.run()
        if !setup.preprocessing.isEmpty {
            try NPZ.write(setup.preprocessing.map { (name: $0.0, array: $0.1.npyArray) },
                          to: out.appendingPathComponent("preprocessing.npz"))
        }
        if let ema = setup.ema {
            try ema.withAveragedParameters(setup.model) { try setup.model.save(to: out.appendingPathComponent("model_ema.npz")) }
        }
        if let test = setup.test {
            let result = try Evaluator(source: test, model: setup.model, prefix: "test", device: device).evaluate()
            output.write(TestResult(result, prefix: "test").line + "\n")
        }
    }
}

/// The loss and accuracy of a model on a held-out set, as `kusari train` and `kusari eval` print them.
public struct TestResult {
    public let prefix: String
    public let loss: Double
    public let accuracy: Double

    /// Reads `prefix/main/loss` and `prefix/main/accuracy` from an evaluator's result.
    public init(_ observation: Observation, prefix: String) {
        self.prefix = prefix
        loss = observation[prefix + "/main/loss"] ?? .nan
        accuracy = observation[prefix + "/main/accuracy"] ?? .nan
    }

    /// `test: loss 0.8123, accuracy 73.45 %`.
    public var line: String {
        "\(prefix): loss \(String(format: "%.4f", loss)), accuracy \(String(format: "%.2f", 100 * accuracy)) %"
    }
}
