import Foundation
import Kusari

/// Running weighted mean and standard deviation of one series (Chainer's `Summary`).
public struct Summary: Equatable, Sendable {
    /// Σ wᵢ xᵢ.
    public private(set) var sum: Double = 0
    /// Σ wᵢ xᵢ².
    public private(set) var sumOfSquares: Double = 0
    /// Σ wᵢ.
    public private(set) var weight: Double = 0

    /// An empty summary.
    public init() {}

    /// Restores a summary from its sums.
    public init(sum: Double, sumOfSquares: Double, weight: Double) {
        self.sum = sum
        self.sumOfSquares = sumOfSquares
        self.weight = weight
    }

    /// Adds `value` with `weight` (1 by default; the evaluator uses the batch size).
    public mutating func add(_ value: Double, weight: Double = 1) {
        sum += weight * value
        sumOfSquares += weight * value * value
        self.weight += weight
    }

    /// Σ wᵢ xᵢ / Σ wᵢ (NaN when empty).
    public var mean: Double { sum / weight }

    /// √(E[x²] − E[x]²), the population standard deviation (NaN when empty).
    public var standardDeviation: Double {
        let m = mean
        return Swift.max(sumOfSquares / weight - m * m, 0).squareRoot()
    }
}

/// Summaries of every name of a stream of observations, in the order names first appeared
/// (Chainer's `DictSummary`).
public struct DictSummary: Equatable, Sendable {
    /// Names in order of first appearance.
    public private(set) var keys: [String] = []
    /// The summary of each name.
    public private(set) var summaries: [String: Summary] = [:]

    /// An empty summary.
    public init() {}

    /// Adds every value of `observation` with `weight`.
    public mutating func add(_ observation: Observation, weight: Double = 1) {
        for (key, value) in observation { add(key, value, weight: weight) }
    }

    /// Adds one value.
    public mutating func add(_ key: String, _ value: Double, weight: Double = 1) {
        if summaries[key] == nil { keys.append(key) }
        summaries[key, default: Summary()].add(value, weight: weight)
    }

    /// Whether nothing was added.
    public var isEmpty: Bool { keys.isEmpty }

    /// The mean of every name, in order.
    public var means: Observation { Observation(keys.map { ($0, summaries[$0]!.mean) }) }

    /// The standard deviation of every name, in order.
    public var standardDeviations: Observation { Observation(keys.map { ($0, summaries[$0]!.standardDeviation) }) }

    /// The sums as state-dict entries: `keys` (UTF-8 JSON array of names) and `sums` (`[n, 3]`
    /// int64 bit patterns of Σwx, Σwx², Σw per name).
    public func stateDict() -> [(String, Tensor)] {
        let names = (try? JSONSerialization.data(withJSONObject: keys)).flatMap { String(data: $0, encoding: .utf8) } ?? "[]"
        var sums: [Double] = []
        for key in keys {
            let s = summaries[key]!
            sums += [s.sum, s.sumOfSquares, s.weight]
        }
        return [("keys", StateCoding.text(names)), ("sums", StateCoding.doubles(sums, shape: [keys.count, 3]))]
    }

    /// Restores ``stateDict()``.
    public mutating func loadStateDict(_ state: [(String, Tensor)]) throws {
        let names = try StateCoding.text(try StateCoding.require(state, "keys", in: "summary"), key: "keys")
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(names.utf8)) as? [String] else {
            throw TrainerStateError("summary keys: expected a JSON array of names, found \(names.prefix(80))")
        }
        let sums = try StateCoding.doubles(try StateCoding.require(state, "sums", in: "summary"), key: "sums")
        guard sums.count == 3 * parsed.count else {
            throw TrainerStateError("summary sums: expected \(3 * parsed.count) values for \(parsed.count) names, found \(sums.count)")
        }
        var restored = DictSummary()
        for (index, key) in parsed.enumerated() {
            restored.keys.append(key)
            restored.summaries[key] = Summary(sum: sums[3 * index], sumOfSquares: sums[3 * index + 1], weight: sums[3 * index + 2])
        }
        self = restored
    }
}
