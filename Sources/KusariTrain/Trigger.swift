import Foundation
import Kusari

/// Decides, once per iteration, whether an extension runs or training stops (Chainer's triggers).
///
/// An interval trigger (``epochs(_:)-(Int)``, ``iterations(_:)``) fires when the updater's
/// position crosses a multiple of the period since the trigger's previous call, exactly like
/// Chainer's `IntervalTrigger`: epoch intervals compare `floor(epochDetail / period)` before and
/// after, so fractional periods work and the trigger keeps firing at the right iterations after a
/// resume. Its memory of the previous call is part of the trainer's state; a trigger that was
/// never called (for example one added after a resume) takes the updater's previous position
/// instead, so it also fires correctly. A custom trigger (``custom(_:)``) is any closure and has
/// no state.
///
/// A trigger is called every iteration by the trainer; call each instance from one place only.
public final class Trigger {
    /// What an interval counts.
    public enum Unit: String, Sendable {
        /// Passes over the training data (`epochDetail`, fractional).
        case epoch
        /// Updates.
        case iteration
    }

    private enum Kind {
        case interval(period: Double, unit: Unit)
        case custom((Trainer) -> Bool)
    }

    private let kind: Kind
    private var previousIteration: Int?
    private var previousEpochDetail: Double?

    private init(kind: Kind) { self.kind = kind }

    /// A custom trigger that fires whenever `body` returns `true`.
    public convenience init(_ body: @escaping (Trainer) -> Bool) { self.init(kind: .custom(body)) }

    /// Fires every `count` epochs (at the iteration that completes the epoch).
    public static func epochs(_ count: Int) -> Trigger { epochs(Double(count)) }

    /// Fires every `count` epochs; fractional counts fire in the middle of epochs.
    public static func epochs(_ count: Double) -> Trigger {
        precondition(count > 0 && count.isFinite, "Trigger.epochs: period \(count) must be positive")
        return Trigger(kind: .interval(period: count, unit: .epoch))
    }

    /// Fires every `count` iterations.
    public static func iterations(_ count: Int) -> Trigger {
        precondition(count > 0, "Trigger.iterations: period \(count) must be positive")
        return Trigger(kind: .interval(period: Double(count), unit: .iteration))
    }

    /// Fires whenever `body` returns `true`.
    public static func custom(_ body: @escaping (Trainer) -> Bool) -> Trigger { Trigger(kind: .custom(body)) }

    /// Never fires.
    public static var never: Trigger { Trigger(kind: .custom { _ in false }) }

    /// The period and unit of an interval trigger (`nil` for a custom one); a stop trigger's
    /// interval is the training length.
    public var interval: (period: Double, unit: Unit)? {
        if case let .interval(period, unit) = kind { return (period, unit) }
        return nil
    }

    /// For an interval trigger, whether the updater's position has reached one period (the
    /// training length, when this is the stop trigger); `false` for custom triggers.
    public func hasReachedPeriod(_ updater: Updater) -> Bool {
        guard case let .interval(period, unit) = kind else { return false }
        return unit == .epoch ? updater.epochDetail >= period : Double(updater.iteration) >= period
    }

    /// Whether the trigger fires at the trainer's current iteration; records the position for
    /// the next call.
    public func callAsFunction(_ trainer: Trainer) -> Bool { fires(trainer) }

    /// Same as calling the trigger.
    public func fires(_ trainer: Trainer) -> Bool {
        switch kind {
        case let .custom(body):
            return body(trainer)
        case let .interval(period, unit):
            let updater = trainer.updater
            let fire: Bool
            switch unit {
            case .epoch:
                let previous = previousEpochDetail ?? updater.previousEpochDetail
                fire = (previous / period).rounded(.down) != (updater.epochDetail / period).rounded(.down)
            case .iteration:
                let previous = previousIteration ?? Swift.max(updater.iteration - 1, 0)
                let step = Int(period)
                fire = previous / step != updater.iteration / step
            }
            previousIteration = updater.iteration
            previousEpochDetail = updater.epochDetail
            return fire
        }
    }

    /// The position seen at the previous call (`previous_iteration` int64,
    /// `previous_epoch_detail` float64 bits); empty for custom triggers and before the first call.
    public func stateDict() -> [(String, Tensor)] {
        guard let iteration = previousIteration, let epochDetail = previousEpochDetail else { return [] }
        return [("previous_iteration", StateCoding.int(iteration)),
                ("previous_epoch_detail", StateCoding.double(epochDetail))]
    }

    /// Restores ``stateDict()``; an empty state forgets the previous position.
    public func loadStateDict(_ state: [(String, Tensor)]) throws {
        guard !state.isEmpty else {
            previousIteration = nil
            previousEpochDetail = nil
            return
        }
        let iteration = try StateCoding.int(try StateCoding.require(state, "previous_iteration", in: "trigger"),
                                            key: "previous_iteration")
        let detail = try StateCoding.double(try StateCoding.require(state, "previous_epoch_detail", in: "trigger"),
                                            key: "previous_epoch_detail")
        previousIteration = iteration
        previousEpochDetail = detail
    }
}
