import Foundation
import Testing
@testable import Kusari

struct BatchNormTests {
    /// Per-channel mean and biased variance of NCHW data.
    func channelStatistics(_ x: [Float], _ shape: [Int]) -> (mean: [Double], variance: [Double]) {
        let (n, c, spatial) = (shape[0], shape[1], shape.count == 4 ? shape[2] * shape[3] : 1)
        var mean = [Double](repeating: 0, count: c), variance = [Double](repeating: 0, count: c)
        for ch in 0..<c {
            var values: [Double] = []
            for b in 0..<n { for s in 0..<spatial { values.append(Double(x[(b * c + ch) * spatial + s])) } }
            mean[ch] = values.reduce(0, +) / Double(values.count)
            variance[ch] = values.map { ($0 - mean[ch]) * ($0 - mean[ch]) }.reduce(0, +) / Double(values.count)
        }
        return (mean, variance)
    }

    @Test(arguments: [[4, 3, 5, 5], [8, 6], [2, 16, 3, 3]])
    func trainingNormalisesAndUpdatesRunningStatistics(_ shape: [Int]) {
        let x = fixtureValues(Shape.count(shape), seed: 21).map { $0 * 3 + 1 }
        let c = shape[1]
        let gamma = fixtureValues(c, seed: 22), beta = fixtureValues(c, seed: 23)
        let runningMean = Tensor.zeros([c]), runningVar = Tensor.ones([c])
        let y = batchNorm(Tensor(x, shape: shape), weight: Tensor(gamma), bias: Tensor(beta), runningMean: runningMean,
                          runningVar: runningVar, training: true, momentum: 0.1, eps: 2e-5)
        let (mean, variance) = channelStatistics(x, shape)
        let spatial = shape.count == 4 ? shape[2] * shape[3] : 1
        let count = shape[0] * spatial
        var expected = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let ch = (i / spatial) % c
            expected[i] = Float((Double(x[i]) - mean[ch]) / (variance[ch] + 2e-5).squareRoot() * Double(gamma[ch]) + Double(beta[ch]))
        }
        #expect(maxAbsDifference(y.scalars, expected) < 1e-4)
        let expectedMean = mean.map { Float(0.1 * $0) }
        let expectedVar = variance.map { Float(0.9 + 0.1 * $0 * Double(count) / Double(count - 1)) }
        #expect(maxAbsDifference(runningMean.scalars, expectedMean) < 1e-5)
        #expect(maxAbsDifference(runningVar.scalars, expectedVar) < 1e-4)
    }

    @Test func evaluationUsesRunningStatistics() {
        let x = fixtureValues(2 * 3 * 2 * 2, seed: 24)
        let mean: [Float] = [0.5, -0.2, 0.1], variance: [Float] = [2, 0.5, 1.5]
        let gamma: [Float] = [1, 2, 0.5], beta: [Float] = [0, 1, -1]
        let y = batchNorm(Tensor(x, shape: [2, 3, 2, 2]), weight: Tensor(gamma), bias: Tensor(beta),
                          runningMean: Tensor(mean), runningVar: Tensor(variance), training: false, eps: 1e-5)
        let expected = x.indices.map { i -> Float in
            let ch = (i / 4) % 3
            return (x[i] - mean[ch]) / (variance[ch] + 1e-5).squareRoot() * gamma[ch] + beta[ch]
        }
        #expect(maxAbsDifference(y.scalars, expected) < 1e-5)
    }
}

struct LocalResponseNormTests {
    @Test(arguments: [(5, Float(1e-4), Float(0.75), Float(2)), (9, Float(0.001), Float(0.75), Float(1))])
    func matchesAcrossChannelFormula(size: Int, alpha: Float, beta: Float, k: Float) {
        let shape = [2, 12, 3, 3]
        let x = fixtureValues(Shape.count(shape), seed: 31).map { $0 * 4 }
        let y = localResponseNorm(Tensor(x, shape: shape), size: size, alpha: alpha, beta: beta, k: k)
        var expected = [Float](repeating: 0, count: x.count)
        for n in 0..<2 { for c in 0..<12 { for s in 0..<9 {
            var total: Double = 0
            for j in Swift.max(0, c - size / 2)...Swift.min(11, c + size / 2) {
                let v = Double(x[(n * 12 + j) * 9 + s]); total += v * v
            }
            let i = (n * 12 + c) * 9 + s
            expected[i] = Float(Double(x[i]) / Foundation.pow(Double(k) + Double(alpha) / Double(size) * total, Double(beta)))
        } } }
        #expect(maxAbsDifference(y.scalars, expected) < 1e-5)
    }
}

struct SoftmaxTests {
    @Test func softmaxAndLogSoftmaxAreStable() {
        let logits: [Float] = [1000, 1001, 1002, -5, 0, 5]
        let p = softmax(Tensor(logits, shape: [2, 3]), axis: 1).scalars
        let lp = logSoftmax(Tensor(logits, shape: [2, 3]), axis: 1).scalars
        for row in 0..<2 {
            let values = logits[(row * 3)..<(row * 3 + 3)].map(Double.init)
            let peak = values.max()!
            let logTotal = Foundation.log(values.map { Foundation.exp($0 - peak) }.reduce(0, +)) + peak
            for j in 0..<3 {
                #expect(Swift.abs(Double(lp[row * 3 + j]) - (values[j] - logTotal)) < 1e-4)
                #expect(Swift.abs(Double(p[row * 3 + j]) - Foundation.exp(values[j] - logTotal)) < 1e-6)
            }
        }
    }

    @Test func softmaxAlongMiddleAxis() {
        let x = fixtureValues(2 * 4 * 3, seed: 41)
        let y = softmax(Tensor(x, shape: [2, 4, 3]), axis: 1).scalars
        for n in 0..<2 { for k in 0..<3 {
            let column = (0..<4).map { Foundation.exp(Double(x[(n * 4 + $0) * 3 + k])) }
            let total = column.reduce(0, +)
            for c in 0..<4 { #expect(Swift.abs(Double(y[(n * 4 + c) * 3 + k]) - column[c] / total) < 1e-6) }
        } }
    }
}
