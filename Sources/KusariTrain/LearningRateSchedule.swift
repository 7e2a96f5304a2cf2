import Foundation
import KusariOptim

/// A learning rate as a pure function of the training position.
///
/// The position is that of the update about to run: `iteration` updates have completed
/// (TensorFlow's `global_step` before it is incremented; `0` for the very first update) and
/// `epochDetail` epochs have been seen (`iteration × batchSize / datasetSize`, Chainer's
/// `epoch_detail`, so `25.0` right after the 25th epoch). ``LearningRateScheduler`` sets the
/// optimizer's ``KusariOptim/Optimizer/learningRate`` from it before every update.
///
/// **Resuming.** A schedule holds no state: its value depends only on the trainer's position,
/// which a snapshot restores, so a resumed run gets exactly the learning rates of an
/// uninterrupted one and nothing about the schedule needs to be saved.
///
/// Schedules: ``ConstantLearningRate``, ``StepDecay`` (Chainer's `ExponentialShift` on an epoch
/// trigger), ``MultiStep``, ``ExponentialDecay`` (TensorFlow's `exponential_decay`),
/// ``CosineAnnealing`` and ``Warmup`` (linear warm-up in front of any of them).
public protocol LearningRateSchedule: Sendable {
    /// The learning rate of the update that follows `iteration` completed updates, at
    /// `epochDetail` epochs into training.
    func learningRate(iteration: Int, epochDetail: Double) -> Float
}

/// Whether a schedule counts in epochs (``LearningRateSchedule`` `epochDetail`, fractional) or in
/// iterations (completed updates).
public enum ScheduleUnit: String, Sendable {
    /// Epochs, from the position's `epochDetail`.
    case epochs
    /// Iterations (updates), from the position's `iteration`.
    case iterations

    /// The position measured in this unit.
    @inline(__always)
    func position(iteration: Int, epochDetail: Double) -> Double {
        switch self {
        case .epochs: return epochDetail
        case .iterations: return Double(iteration)
        }
    }
}

/// How many whole `period`s fit in `position`, tolerant of `24.999999999` for `25`.
@inline(__always)
private func completedPeriods(_ position: Double, _ period: Double) -> Double {
    (position / period + 1e-9).rounded(.down)
}

/// The same learning rate throughout.
public struct ConstantLearningRate: LearningRateSchedule {
    /// The learning rate.
    public var value: Float

    /// Creates a constant schedule.
    public init(_ value: Float) { self.value = value }

    /// Returns ``value``.
    public func learningRate(iteration: Int, epochDetail: Double) -> Float { value }
}

/// Multiplies the learning rate by `factor` every `step` epochs (or iterations):
/// `lr = initial · factor^⌊position / step⌋`.
///
/// Chainer's `ExponentialShift('lr', factor)` with a `(step, 'epoch')` trigger; the VGG CIFAR
/// example's "lr 0.05, halved every 25 epochs" is `StepDecay(initial: 0.05, factor: 0.5,
/// stepEpochs: 25)`: updates during epochs 0–24 use 0.05, from epoch 25 on 0.025, and so on.
public struct StepDecay: LearningRateSchedule {
    /// The learning rate before the first decay.
    public var initial: Float
    /// The multiplier applied at every step boundary.
    public var factor: Float
    /// The distance between decays, in ``unit``.
    public var step: Double
    /// Whether ``step`` counts epochs or iterations.
    public var unit: ScheduleUnit

    /// Decays every `stepEpochs` epochs.
    public init(initial: Float, factor: Float, stepEpochs: Double) {
        precondition(stepEpochs > 0, "StepDecay: step \(stepEpochs) must be positive")
        self.initial = initial
        self.factor = factor
        self.step = stepEpochs
        self.unit = .epochs
    }

    /// Decays every `stepIterations` iterations.
    public init(initial: Float, factor: Float, stepIterations: Int) {
        precondition(stepIterations > 0, "StepDecay: step \(stepIterations) must be positive")
        self.initial = initial
        self.factor = factor
        self.step = Double(stepIterations)
        self.unit = .iterations
    }

    /// `initial · factor^⌊position / step⌋`.
    public func learningRate(iteration: Int, epochDetail: Double) -> Float {
        let periods = completedPeriods(unit.position(iteration: iteration, epochDetail: epochDetail), step)
        return Float(Double(initial) * pow(Double(factor), periods))
    }
}

/// Multiplies the learning rate by `gamma` at each milestone: `lr = initial · gamma^k` where `k`
/// is the number of milestones reached (`milestone ≤ position`), like PyTorch's `MultiStepLR`.
public struct MultiStep: LearningRateSchedule {
    /// The learning rate before the first milestone.
    public var initial: Float
    /// The positions (in ``unit``) at which the rate is multiplied by ``gamma``, ascending.
    public var milestones: [Double]
    /// The multiplier applied at each milestone.
    public var gamma: Float
    /// Whether ``milestones`` are epochs or iterations.
    public var unit: ScheduleUnit

    /// Creates the schedule; `milestones` are sorted.
    public init(initial: Float, milestones: [Double], gamma: Float = 0.1, unit: ScheduleUnit = .epochs) {
        self.initial = initial
        self.milestones = milestones.sorted()
        self.gamma = gamma
        self.unit = unit
    }

    /// `initial · gamma^(milestones reached)`.
    public func learningRate(iteration: Int, epochDetail: Double) -> Float {
        let position = unit.position(iteration: iteration, epochDetail: epochDetail)
        let reached = milestones.reduce(0) { $0 + (position + 1e-9 >= $1 ? 1 : 0) }
        return Float(Double(initial) * pow(Double(gamma), Double(reached)))
    }
}

/// TensorFlow's `tf.train.exponential_decay`:
/// `lr = initial · decayRate^(globalStep / decaySteps)`, with the exponent floored when
/// `staircase` is set (so the rate drops in steps every `decaySteps` updates). `globalStep` is the
/// position's `iteration`. Computed in float32 like TensorFlow.
///
/// The CIFAR-10 tutorial uses an initial rate of 0.1, multiplied by 0.1 every 350 epochs' worth of
/// updates, staircase: ``tfCIFAR10(batchSize:examplesPerEpoch:)``.
public struct ExponentialDecay: LearningRateSchedule {
    /// The learning rate at step 0.
    public var initial: Float
    /// The multiplier per `decaySteps` updates.
    public var decayRate: Float
    /// The number of updates over which the rate is multiplied by `decayRate`.
    public var decaySteps: Int
    /// Whether the exponent is floored (decay in discrete steps).
    public var staircase: Bool

    /// Creates the schedule.
    public init(initial: Float, decayRate: Float, decaySteps: Int, staircase: Bool = false) {
        precondition(decaySteps > 0, "ExponentialDecay: decaySteps \(decaySteps) must be positive")
        self.initial = initial
        self.decayRate = decayRate
        self.decaySteps = decaySteps
        self.staircase = staircase
    }

    /// The TensorFlow CIFAR-10 tutorial's schedule (`cifar10.py`): initial rate 0.1, decay factor
    /// 0.1, `decay_steps = int(examplesPerEpoch / batchSize · 350)` (136,718 for 50,000 examples
    /// in batches of 128), staircase.
    public static func tfCIFAR10(batchSize: Int = 128, examplesPerEpoch: Int = 50_000) -> ExponentialDecay {
        let batchesPerEpoch = Double(examplesPerEpoch) / Double(batchSize)
        return ExponentialDecay(initial: 0.1, decayRate: 0.1, decaySteps: Int(batchesPerEpoch * 350), staircase: true)
    }

    /// `initial · decayRate^p` with `p = iteration / decaySteps` (floored when ``staircase``).
    public func learningRate(iteration: Int, epochDetail: Double) -> Float {
        var p = Float(iteration) / Float(decaySteps)
        if staircase { p = p.rounded(.down) }
        return initial * pow(decayRate, p)
    }
}

/// Cosine annealing from `initial` down to `minimum` over `total` epochs (or iterations), then
/// constant: `lr = minimum + (initial − minimum) · (1 + cos(π · min(position, total) / total)) / 2`
/// (SGDR without restarts, PyTorch's `CosineAnnealingLR`). With epochs the rate changes every
/// iteration, following the fractional epoch.
public struct CosineAnnealing: LearningRateSchedule {
    /// The learning rate at position 0.
    public var initial: Float
    /// The learning rate at `total` and after.
    public var minimum: Float
    /// The length of the annealing, in ``unit``.
    public var total: Double
    /// Whether ``total`` counts epochs or iterations.
    public var unit: ScheduleUnit

    /// Anneals over `totalEpochs` epochs.
    public init(initial: Float, minimum: Float = 0, totalEpochs: Double) {
        precondition(totalEpochs > 0, "CosineAnnealing: totalEpochs \(totalEpochs) must be positive")
        self.initial = initial
        self.minimum = minimum
        self.total = totalEpochs
        self.unit = .epochs
    }

    /// Anneals over `totalIterations` iterations.
    public init(initial: Float, minimum: Float = 0, totalIterations: Int) {
        precondition(totalIterations > 0, "CosineAnnealing: totalIterations \(totalIterations) must be positive")
        self.initial = initial
        self.minimum = minimum
        self.total = Double(totalIterations)
        self.unit = .iterations
    }

    /// The cosine-interpolated rate.
    public func learningRate(iteration: Int, epochDetail: Double) -> Float {
        let position = Swift.min(Swift.max(unit.position(iteration: iteration, epochDetail: epochDetail), 0), total)
        let cosine = (1 + cos(Double.pi * position / total)) / 2
        return Float(Double(minimum) + (Double(initial) - Double(minimum)) * cosine)
    }
}

/// Linear warm-up in front of another schedule: during the first `length` epochs (or iterations)
/// the wrapped schedule's rate is multiplied by a factor rising linearly from `startFactor` to 1,
/// `factor = startFactor + (1 − startFactor) · min(1, position / length)`; afterwards the wrapped
/// schedule applies unchanged. The wrapped schedule sees the same position (it is not shifted),
/// as in Goyal et al.'s gradual warm-up.
public struct Warmup: LearningRateSchedule {
    /// The schedule being warmed up.
    public var base: any LearningRateSchedule
    /// The warm-up length, in ``unit``.
    public var length: Double
    /// Whether ``length`` counts epochs or iterations.
    public var unit: ScheduleUnit
    /// The factor at position 0.
    public var startFactor: Float

    /// Warms `base` up over `epochs` epochs, starting at `startFactor` (default 0.1) of its rate.
    public init(wrapping base: any LearningRateSchedule, epochs: Double, startFactor: Float = 0.1) {
        precondition(epochs > 0, "Warmup: length \(epochs) must be positive")
        precondition(startFactor >= 0 && startFactor <= 1, "Warmup: startFactor \(startFactor) must be in 0...1")
        self.base = base
        self.length = epochs
        self.unit = .epochs
        self.startFactor = startFactor
    }

    /// Warms `base` up over `iterations` updates, starting at `startFactor` (default 0.1) of its rate.
    public init(wrapping base: any LearningRateSchedule, iterations: Int, startFactor: Float = 0.1) {
        precondition(iterations > 0, "Warmup: length \(iterations) must be positive")
        precondition(startFactor >= 0 && startFactor <= 1, "Warmup: startFactor \(startFactor) must be in 0...1")
        self.base = base
        self.length = Double(iterations)
        self.unit = .iterations
        self.startFactor = startFactor
    }

    /// The warm-up factor at a position (1 once warm-up is over).
    public func factor(iteration: Int, epochDetail: Double) -> Double {
        let progress = Swift.min(1, Swift.max(0, unit.position(iteration: iteration, epochDetail: epochDetail) / length))
        return Double(startFactor) + (1 - Double(startFactor)) * progress
    }

    /// The wrapped rate times ``factor(iteration:epochDetail:)``.
    public func learningRate(iteration: Int, epochDetail: Double) -> Float {
        let rate = base.learningRate(iteration: iteration, epochDetail: epochDetail)
        let warm = factor(iteration: iteration, epochDetail: epochDetail)
        return warm >= 1 ? rate : Float(Double(rate) * warm)
    }
}

/// Applies a ``LearningRateSchedule`` to an optimizer: before every update it sets
/// ``KusariOptim/Optimizer/learningRate`` to the schedule's value at the current position.
///
/// As a trainer extension it sets the rate of the first update in ``initialize(_:)`` (from the
/// restored position after a resume, overriding the rate stored in the optimizer's snapshot) and,
/// after every update, reports the rate that update used as `lr` (Chainer's `observe_lr`, so the
/// log shows it) and sets the rate of the next one. It runs as a writer, before the log reports.
///
/// It keeps no state (see ``LearningRateSchedule`` on resuming): nothing is saved in snapshots.
///
/// ```swift
/// trainer.extend(LearningRateScheduler(StepDecay(initial: 0.05, factor: 0.5, stepEpochs: 25),
///                                      optimizer: optimizer))
/// ```
public final class LearningRateScheduler: Extension {
    /// The schedule followed.
    public let schedule: any LearningRateSchedule
    /// The optimizer whose rate is set.
    public let optimizer: Optimizer
    /// The observation name under which the rate of each update is reported, or `nil` for none.
    public let reportKey: String?
    /// The rate set by the last ``apply(iteration:epochDetail:)``, `nil` before the first.
    public private(set) var lastLearningRate: Float?

    /// Creates the extension.
    /// - Parameters:
    ///   - schedule: the learning rate as a function of the position.
    ///   - optimizer: the optimizer to drive (usually the updater's).
    ///   - reportKey: observation name for the rate (default `"lr"`), `nil` to report nothing.
    public init(_ schedule: any LearningRateSchedule, optimizer: Optimizer, reportKey: String? = "lr") {
        self.schedule = schedule
        self.optimizer = optimizer
        self.reportKey = reportKey
    }

    /// Every iteration.
    public var trigger: Trigger { .iterations(1) }
    /// ``ExtensionPriority/writer``: the reported rate is in the observation before log reports
    /// read it.
    public var priority: Int { ExtensionPriority.writer }
    /// `"LearningRateScheduler"`.
    public var name: String { "LearningRateScheduler" }

    /// Sets the rate of the next update from the trainer's (possibly restored) position.
    public func initialize(_ trainer: Trainer) throws {
        apply(iteration: trainer.updater.iteration, epochDetail: trainer.updater.epochDetail)
    }

    /// Reports the rate the last update used, then sets the rate of the next one.
    public func callAsFunction(_ trainer: Trainer) throws {
        if let reportKey { trainer.reporter.report(reportKey, Double(optimizer.learningRate)) }
        apply(iteration: trainer.updater.iteration, epochDetail: trainer.updater.epochDetail)
    }

    /// Sets the optimizer's rate for the update that follows `iteration` completed updates at
    /// `epochDetail` epochs, and returns it.
    @discardableResult
    public func apply(iteration: Int, epochDetail: Double) -> Float {
        let rate = schedule.learningRate(iteration: iteration, epochDetail: epochDetail)
        precondition(rate.isFinite && rate >= 0, "LearningRateScheduler: schedule gave learning rate \(rate) at iteration \(iteration)")
        optimizer.learningRate = rate
        lastLearningRate = rate
        return rate
    }
}
