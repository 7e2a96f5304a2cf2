import Foundation
import Kusari

/// Draws word ids from a unigram distribution raised to a power (word2vec's noise distribution,
/// `counts^0.75`) in O(1) per sample with Walker's alias method.
public struct UnigramSampler: Sendable {
    /// Probability of keeping column `i` before falling back to its alias.
    private let threshold: [Float]
    private let alias: [Int]

    /// - Parameters:
    ///   - counts: occurrences of each word id.
    ///   - power: exponent applied to the counts (0.75 in word2vec).
    public init(counts: [Int], power: Double = 0.75) {
        precondition(!counts.isEmpty && counts.allSatisfy { $0 >= 0 } && counts.contains { $0 > 0 },
                     "UnigramSampler needs non-negative counts with at least one positive")
        let weights = counts.map { $0 > 0 ? Foundation.pow(Double($0), power) : 0 }
        let total = weights.reduce(0, +)
        var scaled = weights.map { $0 / total * Double(counts.count) }
        var alias = Array(0..<counts.count)
        var small = scaled.indices.filter { scaled[$0] < 1 }, large = scaled.indices.filter { scaled[$0] >= 1 }
        while let s = small.popLast(), let l = large.last {
            alias[s] = l
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 { large.removeLast(); small.append(l) }
        }
        for i in large + small { scaled[i] = 1 }
        threshold = scaled.map { Float($0) }
        self.alias = alias
    }

    /// Probability of drawing each id (for tests and diagnostics).
    public var probabilities: [Double] {
        var p = [Double](repeating: 0, count: threshold.count)
        for i in threshold.indices {
            p[i] += Double(threshold[i]) / Double(threshold.count)
            p[alias[i]] += (1 - Double(threshold[i])) / Double(threshold.count)
        }
        return p
    }

    /// `int64` ids of the given shape.
    public func sample(_ shape: [Int], generator: Generator = .default) -> Tensor {
        let u = Tensor.uniform(shape, generator: generator).scalars
        let n = threshold.count
        let ids = u.map { value -> Int64 in
            let scaled = value * Float(n)
            let column = Swift.min(Int(scaled), n - 1)
            return Int64(scaled - Float(column) < threshold[column] ? column : alias[column])
        }
        return Tensor(ids, shape: shape)
    }
}

/// Chainer's `L.NegativeSampling`: holds the output word vectors `W` `[vocabulary, size]` and
/// returns the negative-sampling loss of input vectors against their context words.
public final class NegativeSampling: Module {
    /// Output word vectors (zeros initially, like Chainer).
    public let W: Tensor
    /// The noise distribution.
    public let sampler: UnigramSampler
    /// Negative samples per context word.
    public let sampleSize: Int
    private let generator: Generator

    public init(_ inputSize: Int, counts: [Int], sampleSize: Int, power: Double = 0.75,
                generator: Generator = .default) {
        W = Tensor.zeros([counts.count, inputSize]).requiringGrad()
        sampler = UnigramSampler(counts: counts, power: power)
        self.sampleSize = sampleSize
        self.generator = generator
        super.init()
    }

    /// The summed loss of `input` `[N, size]` against context word ids `targets` `[N]`. The
    /// negative samples are drawn on the host and follow `input` to its device.
    public func callAsFunction(_ input: Tensor, _ targets: Tensor, reduction: Reduction = .sum) -> Tensor {
        let drawn = sampler.sample([input.shape[0], sampleSize], generator: generator)
        // A failed upload leaves them on the host, where the loss stops with a clear message.
        let negatives = (try? drawn.to(device: input.device)) ?? drawn
        return negativeSamplingLoss(input, targets: targets, negatives: negatives, outputWeights: W, reduction: reduction)
    }
}
