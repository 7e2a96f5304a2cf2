import Foundation
import Testing
import Kusari
@testable import KusariNN

struct NegativeSamplingTests {
    @Test func aliasTableReproducesTheSmoothedUnigramDistribution() {
        let counts = [10, 0, 3, 100, 1]
        let sampler = UnigramSampler(counts: counts, power: 0.75)
        let weights = counts.map { Foundation.pow(Double($0), 0.75) }, total = weights.reduce(0, +)
        for (p, w) in zip(sampler.probabilities, weights) { #expect(Swift.abs(p - w / total) < 1e-6) }
        let draws = sampler.sample([200_000], generator: Generator(seed: 3)).toArray(of: Int64.self)
        #expect(!draws.contains(1))
        for i in counts.indices {
            let frequency = Double(draws.filter { $0 == Int64(i) }.count) / 200_000
            #expect(Swift.abs(frequency - weights[i] / total) < 0.01)
        }
    }

    @Test func layerLossIsFiniteAndTrainsItsVectors() {
        let layer = NegativeSampling(4, counts: [5, 5, 5, 5, 5, 5], sampleSize: 3, generator: Generator(seed: 9))
        let h = Tensor.normal([8, 4], generator: Generator(seed: 10)).requiringGrad()
        let loss = layer(h, Tensor((0..<8).map { Int64($0 % 6) }))
        // With zero output vectors every score is 0, so each row costs (1 + K) log 2.
        #expect(Swift.abs(loss.item() - 8 * 4 * Float(Foundation.log(2.0))) < 1e-4)
        loss.backward()
        #expect(layer.W.grad != nil && h.grad != nil)
        #expect(layer.namedParameters().map(\.0) == ["W"])
    }
}
