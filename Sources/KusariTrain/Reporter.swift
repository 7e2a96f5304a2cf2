import Foundation
import Kusari

/// The values reported during one iteration (or one evaluation batch), in the order they were
/// first reported: Chainer's observation dictionary.
public struct Observation: Sequence, Equatable, Sendable {
    /// Names in the order of their first report.
    public private(set) var keys: [String] = []
    /// The values by name.
    public private(set) var values: [String: Double] = [:]

    /// An empty observation.
    public init() {}

    /// An observation holding `pairs` in order (a later duplicate replaces the value).
    public init(_ pairs: [(String, Double)]) {
        for (key, value) in pairs { self[key] = value }
    }

    /// The value reported under `key`; setting a new key appends it.
    public subscript(key: String) -> Double? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// Number of reported names.
    public var count: Int { keys.count }
    /// Whether nothing was reported.
    public var isEmpty: Bool { keys.isEmpty }

    /// The `(name, value)` pairs in report order.
    public func makeIterator() -> AnyIterator<(key: String, value: Double)> {
        var index = 0
        return AnyIterator {
            guard index < keys.count else { return nil }
            defer { index += 1 }
            return (keys[index], values[keys[index]]!)
        }
    }
}

/// Collects named observations (Chainer's `Reporter`): the loss function and the extensions call
/// ``report(_:_:)-(String,Double)`` with names such as `main/loss`, and the trainer gives every
/// iteration a fresh ``observation``.
public final class Reporter {
    /// The values reported since the current scope began (for the trainer: in the current
    /// iteration; after an iteration it keeps that iteration's values).
    public private(set) var observation = Observation()

    /// A reporter with an empty observation.
    public init() {}

    /// Records `value` under `name` in the current observation (a second report of the same
    /// name in one scope replaces the first, as in Chainer).
    public func report(_ name: String, _ value: Double) { observation[name] = value }

    /// Records a float value.
    public func report(_ name: String, _ value: Float) { report(name, Double(value)) }

    /// Records the value of a one-element tensor (for example a loss).
    public func report(_ name: String, _ value: Tensor) {
        precondition(value.count == 1, "Reporter.report: '\(name)' must be a single value, got shape \(value.shape)")
        report(name, Double(value.dtype == .float32 ? value.item() : value.to(.float32).item()))
    }

    /// Records every value of `values`, in order.
    public func report(_ values: Observation) {
        for (name, value) in values { report(name, value) }
    }

    /// Starts a fresh, empty observation (the trainer calls this at the start of each iteration).
    public func startObservation() { observation = Observation() }

    /// Runs `body` with a fresh observation, then restores the current one; returns what `body`
    /// reported (Chainer's `report_scope`, used by the evaluator for each batch).
    public func withScope<R>(_ body: () throws -> R) rethrows -> (result: R, observation: Observation) {
        let saved = observation
        observation = Observation()
        defer { observation = saved }
        let result = try body()
        return (result, observation)
    }
}
