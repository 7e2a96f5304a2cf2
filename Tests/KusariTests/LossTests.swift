import Foundation
import Testing
@testable import Kusari

struct SoftmaxCrossEntropyTests {
    func referenceLoss(_ logits: [Float], classes: Int, labels: [Int], ignore: Int) -> Double {
        var total: Double = 0, counted = 0
        for (row, label) in labels.enumerated() where label != ignore {
            let values = logits[(row * classes)..<(row * classes + classes)].map(Double.init)
            let peak = values.max()!
            total += Foundation.log(values.map { Foundation.exp($0 - peak) }.reduce(0, +)) + peak - values[label]
            counted += 1
        }
        return total / Double(Swift.max(counted, 1))
    }

    @Test func meanOverCountedLabelsWithIgnore() {
        let logits = fixtureValues(5 * 4, seed: 51).map { $0 * 5 }
        let labels = [0, 3, -1, 2, 1]
        let loss = softmaxCrossEntropy(Tensor(logits, shape: [5, 4]), Tensor(labels.map(Int32.init)))
        #expect(Swift.abs(Double(loss.item()) - referenceLoss(logits, classes: 4, labels: labels, ignore: -1)) < 1e-5)
    }

    @Test func extremeLogitsStayFinite() {
        // The Theano seed's NaNs came from one-hot float targets; the log-sum-exp form never overflows.
        let loss = softmaxCrossEntropy(Tensor([1e4, -1e4, 0, -1e4, 1e4, 0], shape: [2, 3]), Tensor([Int64(1), 0]))
        #expect(loss.item().isFinite)
        #expect(Swift.abs(loss.item() - 2e4) < 1)
    }

    @Test func gradientIsSoftmaxMinusOneHotOverCount() {
        let logits = fixtureValues(3 * 4, seed: 52)
        let x = Tensor(logits, shape: [3, 4]).requiringGrad()
        let labels: [Int32] = [1, -1, 3]
        softmaxCrossEntropy(x, Tensor(labels)).backward()
        let grad = x.grad!.scalars
        for row in 0..<3 {
            let values = logits[(row * 4)..<(row * 4 + 4)].map { Foundation.exp(Double($0)) }
            let total = values.reduce(0, +)
            for c in 0..<4 {
                let expected = labels[row] == -1 ? 0 : (values[c] / total - (Int32(c) == labels[row] ? 1 : 0)) / 2
                #expect(Swift.abs(Double(grad[row * 4 + c]) - expected) < 1e-6)
            }
        }
    }

    @Test func segmentationLogitsWithIgnoredPixels() {
        // [N=1, C=3, H=2, W=2] with one ignored pixel, like VOC's 255 border label mapped to -1.
        let logits = fixtureValues(12, seed: 53)
        let labels: [Int32] = [0, 2, -1, 1]
        let loss = softmaxCrossEntropy(Tensor(logits, shape: [1, 3, 2, 2]), Tensor(labels, shape: [1, 2, 2]))
        var moved = [Float](repeating: 0, count: 12)
        for c in 0..<3 { for p in 0..<4 { moved[p * 3 + c] = logits[c * 4 + p] } }
        let expected = referenceLoss(moved, classes: 3, labels: labels.map(Int.init), ignore: -1)
        #expect(Swift.abs(Double(loss.item()) - expected) < 1e-5)
        #expect(accuracy(Tensor(logits, shape: [1, 3, 2, 2]), Tensor(labels, shape: [1, 2, 2])) >= 0)
    }

    @Test func accuracySkipsIgnoredLabels() {
        let logits: [Float] = [0.1, 0.9, 0.8, 0.2, 0.3, 0.7, 0.6, 0.4]
        let labels: [Int32] = [1, 1, -1, 0]
        #expect(Swift.abs(accuracy(Tensor(logits, shape: [4, 2]), Tensor(labels)) - 2.0 / 3.0) < 1e-6)
    }
}

struct RegressionLossTests {
    @Test func meanSquaredError() {
        let loss = mseLoss(Tensor([1, 2, 3] as [Float]), Tensor([1, 0, 6] as [Float]))
        #expect(Swift.abs(loss.item() - 13.0 / 3.0) < 1e-6)
    }

    @Test func sigmoidBinaryCrossEntropyMatchesFormula() {
        let x: [Float] = [-50, -1, 0, 2, 50], t: [Float] = [0, 1, 1, 0, 1]
        let loss = sigmoidBinaryCrossEntropy(logits: Tensor(x), targets: Tensor(t), reduction: .none).scalars
        for i in 0..<5 {
            let p = 1 / (1 + Foundation.exp(-Double(x[i])))
            let expected = -(Double(t[i]) * Foundation.log(Swift.max(p, 1e-300)) + (1 - Double(t[i])) * Foundation.log(Swift.max(1 - p, 1e-300)))
            #expect(Swift.abs(Double(loss[i]) - expected) < 1e-4)
        }
    }
}
