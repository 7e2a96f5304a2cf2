import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim

/// Computes the loss of `model` on `batch` and reports observations (such as `main/loss`) to the
/// reporter; the returned scalar is back-propagated by the updater.
public typealias LossFunction = (_ model: Module, _ batch: Batch, _ reporter: Reporter) -> Tensor

/// Performs one training step per call and knows the training position (Chainer's `Updater`).
public protocol Updater: AnyObject {
    /// Updates done so far.
    var iteration: Int { get }
    /// Completed epochs.
    var epoch: Int { get }
    /// `epoch` plus the fraction of the current epoch done.
    var epochDetail: Double { get }
    /// ``epochDetail`` before the last update (equal to it before the first update).
    var previousEpochDetail: Double { get }
    /// Whether the last update completed an epoch.
    var isNewEpoch: Bool { get }
    /// Updates per epoch.
    var batchesPerEpoch: Int { get }
    /// The trained model (saved by ``Trainer/saveModel(to:)``).
    var model: Module { get }
    /// One training step; observations go to `reporter`.
    func update(reporter: Reporter) throws
    /// Called when the training loop ends.
    func finalize()
    /// Position, model, optimizer and data-source state, for snapshots.
    func stateDict() -> [(String, Tensor)]
    /// Restores ``stateDict()``.
    func loadStateDict(_ state: [(String, Tensor)]) throws
}

extension Updater {
    /// Does nothing.
    public func finalize() {}
}

/// The usual updater (Chainer's `StandardUpdater`): each update takes the next batch of the
/// source, moves it to ``device``, clears the gradients, computes the loss, back-propagates and
/// steps the optimizer.
///
/// With ``mixedPrecision`` set it trains like PyTorch's automatic mixed precision: the loss
/// function runs under ``Kusari/Autocast/run(_:_:)`` (convolutions and matrix products in that
/// dtype, weights and everything else in float32); with float16 the loss is scaled by
/// ``lossScaler`` before back-propagation and the optimizer is stepped through it, which skips
/// steps with non-finite gradients. The scale in use is reported as `main/loss_scale`.
public final class StandardUpdater: Updater {
    /// Where the training batches come from (a repeating source).
    public let source: BatchSource
    /// The trained model.
    public let model: Module
    /// The optimizer updating ``model``'s parameters.
    public let optimizer: Optimizer
    /// The loss of one batch.
    public let loss: LossFunction
    /// Where each batch is moved before the loss sees it (Chainer's `device`); the model should
    /// be there too (``KusariNN/Module/move(to:)``).
    public let device: Device
    /// The autocast dtype of the forward pass and loss (`.float16` or `.bfloat16`), or `nil` for
    /// plain float32 training.
    public let mixedPrecision: DType?
    /// The dynamic loss scaler of float16 training; `nil` otherwise (bfloat16 has float32's
    /// exponent range and needs none).
    public let lossScaler: DynamicLossScaler?
    /// Updates done so far.
    public private(set) var iteration = 0
    /// ``epochDetail`` before the last update.
    public private(set) var previousEpochDetail: Double

    /// - Parameters:
    ///   - source: the training batches; a source that runs dry ends training with an error.
    ///   - model: the trained model.
    ///   - optimizer: an optimizer over `model`'s parameters.
    ///   - loss: the loss of a batch; by default softmax cross-entropy with accuracy, reported as
    ///     `main/loss` and `main/accuracy` (``ClassifierLoss``).
    ///   - device: where the batches are moved before the loss (default the CPU).
    ///   - mixedPrecision: `.bfloat16` or `.float16` to train with autocast (see the type's
    ///     description), `nil` (the default) for float32.
    ///   - lossScaling: the settings of float16 training's ``lossScaler`` (PyTorch
    ///     `GradScaler`'s defaults unless given); unused otherwise.
    /// - Precondition: `mixedPrecision` is `nil`, `.float16` or `.bfloat16`; `lossScaling` has no
    ///   ``KusariOptim/DynamicLossScaler/Settings/problems``.
    public init(source: BatchSource, model: Module, optimizer: Optimizer,
                loss: @escaping LossFunction = ClassifierLoss().function, device: Device = .cpu,
                mixedPrecision: DType? = nil, lossScaling: DynamicLossScaler.Settings = .init()) {
        precondition(mixedPrecision == nil || mixedPrecision == .float16 || mixedPrecision == .bfloat16,
                     "StandardUpdater: mixed precision needs float16 or bfloat16, got \(mixedPrecision.map { "\($0)" } ?? "nil")")
        self.source = source
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.device = device
        self.mixedPrecision = mixedPrecision
        self.lossScaler = mixedPrecision == .float16 ? DynamicLossScaler(lossScaling) : nil
        self.previousEpochDetail = source.epochDetail
    }

    public var epoch: Int { source.epoch }
    public var epochDetail: Double { source.epochDetail }
    public var isNewEpoch: Bool { source.isNewEpoch }
    public var batchesPerEpoch: Int { source.batchesPerEpoch }

    /// Moves the batch to ``device``, then zeroGrad, forward (the loss function, under autocast
    /// with ``mixedPrecision``), backward, `optimizer.step()` (through ``lossScaler`` for float16,
    /// reporting `main/loss_scale`, the scale this step's loss was multiplied by).
    /// - Throws: ``TrainingStopped`` when the source has no more batches; the device's error when
    ///   the batch cannot be moved there.
    public func update(reporter: Reporter) throws {
        let before = source.epochDetail
        guard let next = source.next() else {
            throw TrainingStopped(reason: "the training source returned no batch at iteration \(iteration + 1); training sources must repeat",
                                  iteration: iteration)
        }
        previousEpochDetail = before
        let batch = try next.to(device: device)
        optimizer.zeroGrad()
        model.zeroGrad()
        let value: Tensor
        if let dtype = mixedPrecision {
            value = Autocast.run(dtype) { loss(model, batch, reporter) }
        } else {
            value = loss(model, batch, reporter)
        }
        if let lossScaler {
            reporter.report("main/loss_scale", lossScaler.scale)
            lossScaler.scaled(value).backward()
            lossScaler.step(optimizer)
        } else {
            value.backward()
            optimizer.step()
        }
        iteration += 1
    }

    /// Keys: `iteration`, `epoch` (int64; `epoch` is informational), `previous_epoch_detail`
    /// (float64 bits), then `model:main/…` (the model's state dict), `optimizer:main/…` (the
    /// optimizer's) and `iterator:main/…` (the source's), like Chainer's updater serialisation,
    /// and for float16 training `scaler:main/…` (``lossScaler``'s state).
    /// All values are host copies, also when training on a GPU.
    public func stateDict() -> [(String, Tensor)] {
        var state: [(String, Tensor)] = [
            ("iteration", StateCoding.int(iteration)),
            ("epoch", StateCoding.int(epoch)),
            ("previous_epoch_detail", StateCoding.double(previousEpochDetail)),
        ]
        state += StateCoding.prefixed("model:main/", model.stateDict().map { ($0.0, $0.1.hostCopy()) })
        state += StateCoding.prefixed("optimizer:main/", optimizer.stateDict())
        state += StateCoding.prefixed("iterator:main/", source.stateDict())
        if let lossScaler { state += StateCoding.prefixed("scaler:main/", lossScaler.stateDict()) }
        return state
    }

    /// Restores ``stateDict()`` (model and optimizer strictly). A float16 updater restores its
    /// loss scaler from `scaler:main/…`, or resets it to a fresh scaler when the state has none
    /// (a snapshot of a float32 or bfloat16 run); other updaters ignore scaler state.
    public func loadStateDict(_ state: [(String, Tensor)]) throws {
        let iteration = try StateCoding.int(try StateCoding.require(state, "iteration", in: "updater"), key: "updater/iteration")
        let previous = try StateCoding.double(try StateCoding.require(state, "previous_epoch_detail", in: "updater"),
                                              key: "updater/previous_epoch_detail")
        let modelState = StateCoding.section(state, "model:main/")
        let optimizerState = StateCoding.section(state, "optimizer:main/")
        guard !modelState.isEmpty else { throw TrainerStateError("updater: the state holds no model (model:main/…)") }
        guard !optimizerState.isEmpty else { throw TrainerStateError("updater: the state holds no optimizer (optimizer:main/…)") }
        let scalerState = StateCoding.section(state, "scaler:main/")
        if lossScaler != nil && !scalerState.isEmpty {
            // Checked before anything is loaded, restored after the rest succeeded.
            do { try DynamicLossScaler().loadStateDict(scalerState) } catch let error as LossScalerStateError {
                throw TrainerStateError("updater: scaler:main/…: \(error.description)")
            }
        }
        try model.loadStateDict(modelState)
        try optimizer.loadStateDict(optimizerState)
        try source.loadStateDict(StateCoding.section(state, "iterator:main/"))
        if let lossScaler {
            if scalerState.isEmpty { lossScaler.reset() } else { try lossScaler.loadStateDict(scalerState) }
        }
        self.iteration = iteration
        self.previousEpochDetail = previous
    }
}
