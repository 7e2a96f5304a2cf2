import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim
import KusariTrain

/// Builds the Chainer-style trainer around a recipe's setup: classifier updater, evaluator,
/// log, printed report, progress bar, loss/accuracy plots, snapshots, NaN guard and the final
/// `model.npz`, and runs it (optionally resuming from a snapshot).
public struct TrainingRun {
    public let setup: TrainingSetup
    public let trainer: Trainer
    /// The recipe's name, written to `out/recipe.txt` so `kusari eval` knows how to rebuild the model.
    public let recipeName: String

    public init(recipe: any Recipe, options: TrainingOptions, output: TextOutput = .standardOutput) throws {
        let setup = try recipe.makeSetup(options)
        let updater = StandardUpdater(source: setup.training, model: setup.model, optimizer: setup.optimizer,
                                      loss: ClassifierLoss().function)
        let trainer = Trainer(updater: updater, stopTrigger: .epochs(setup.epochs), out: options.out)
        let evaluator = Evaluator(source: setup.validation, model: setup.model)
        setup.configureEvaluator?(evaluator)
        for ext in setup.extensions { trainer.extend(ext) }
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
        recipeName = recipe.name
    }

    /// Trains to the end (continuing from `snapshot` when given), then writes the fitted
    /// preprocessing beside the model as `preprocessing.npz`.
    public func run(resumingFrom snapshot: URL? = nil) throws {
        if let snapshot { try trainer.resume(from: snapshot) }
        try FileManager.default.createDirectory(at: trainer.out, withIntermediateDirectories: true)
        try Data(recipeName.utf8).write(to: trainer.out.appendingPathComponent("recipe.txt"), options: .atomic)
        try trainer.run()
        if !setup.preprocessing.isEmpty {
            try NPZ.write(setup.preprocessing.map { (name: $0.0, array: NPYArray(floats: $0.1.scalars, shape: $0.1.shape)) },
                          to: trainer.out.appendingPathComponent("preprocessing.npz"))
        }
    }
}
