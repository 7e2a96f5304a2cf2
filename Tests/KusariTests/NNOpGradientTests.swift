import Foundation
import Testing
@testable import Kusari

/// Finite-difference checks of the oneDNN-backed ops and the losses.
struct ConvolutionGradientTests {
    @Test func convolutionWithBias() {
        checkGradients([testTensor([2, 3, 6, 5], seed: 1), testTensor([4, 3, 3, 3], seed: 2), testTensor([4], seed: 3)]) {
            conv2d($0[0], $0[1], bias: $0[2], stride: [1, 1], padding: [1, 1])
        }
    }

    @Test func stridedDilatedGroupedConvolution() {
        checkGradients([testTensor([1, 4, 9, 9], seed: 4), testTensor([6, 2, 3, 3], seed: 5)]) {
            conv2d($0[0], $0[1], stride: [2, 2], padding: [2, 2], dilation: [2, 2], groups: 2)
        }
    }

    @Test func transposedConvolutionWithExplicitOutputSize() {
        checkGradients([testTensor([1, 4, 3, 3], seed: 6), testTensor([4, 3, 4, 4], seed: 7), testTensor([3], seed: 8)]) {
            convTranspose2d($0[0], $0[1], bias: $0[2], stride: [2, 2], padding: [1, 1], outputSize: [7, 6])
        }
    }

    @Test func groupedTransposedConvolution() {
        checkGradients([testTensor([1, 4, 3, 3], seed: 9), testTensor([4, 1, 3, 3], seed: 10)]) {
            convTranspose2d($0[0], $0[1], stride: [2, 2], groups: 2)
        }
    }

    /// `convTranspose2d` is the adjoint of `conv2d`: <conv(x, w), y> = <x, convT(y, w)>.
    @Test(arguments: [(1, 0, 1), (2, 1, 1), (2, 1, 2), (3, 2, 1)])
    func transposedConvolutionIsTheAdjoint(stride: Int, padding: Int, groups: Int) {
        let x = testTensor([2, 4, 11, 10], seed: 11), w = testTensor([6, 4 / groups, 3, 3], seed: 12)
        let y = conv2d(x, w, stride: [stride, stride], padding: [padding, padding], groups: groups)
        let probe = testTensor(y.shape, seed: 13)
        let back = convTranspose2d(probe, w, stride: [stride, stride], padding: [padding, padding],
                                   outputSize: [11, 10], groups: groups)
        #expect(back.shape == x.shape)
        let lhs = (y * probe).sum().item(), rhs = (x * back).sum().item()
        #expect(Swift.abs(lhs - rhs) < 1e-3 * Swift.max(1, Swift.abs(lhs)))
    }
}

struct PoolingGradientTests {
    @Test func overlappingMaxPoolingWithCeilMode() {
        let x = Tensor(distinctTestValues(2 * 2 * 7 * 7, seed: 14), shape: [2, 2, 7, 7])
        checkGradients([x]) { maxPool2d($0[0], kernelSize: [3, 3], stride: [2, 2], ceilMode: true) }
    }

    @Test func maxPoolingWithPadding() {
        let x = Tensor(distinctTestValues(1 * 3 * 6 * 6, seed: 15), shape: [1, 3, 6, 6])
        checkGradients([x]) { maxPool2d($0[0], kernelSize: [4, 4], stride: [2, 2], padding: [1, 1]) }
    }

    @Test func averagePooling() {
        checkGradients([testTensor([2, 3, 6, 7], seed: 16)]) {
            avgPool2d($0[0], kernelSize: [3, 3], stride: [2, 2], padding: [1, 1], countIncludePad: false)
        }
        checkGradients([testTensor([1, 2, 5, 5], seed: 17)]) { globalAvgPool2d($0[0]) }
    }
}

struct NormalizationGradientTests {
    @Test func batchNormTraining() {
        checkGradients([testTensor([4, 3, 3, 3], seed: 18), testTensor([3], seed: 19, low: 0.5, high: 1.5),
                        testTensor([3], seed: 20)], tolerance: 3e-2) {
            batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: nil, runningVar: nil, training: true)
        }
        checkGradients([testTensor([6, 5], seed: 21)], tolerance: 3e-2) {
            batchNorm($0[0], weight: nil, bias: nil, runningMean: nil, runningVar: nil, training: true)
        }
    }

    @Test func batchNormEvaluationStillDifferentiates() {
        let mean = Tensor([0.1, -0.2] as [Float]), variance = Tensor([0.5, 2] as [Float])
        checkGradients([testTensor([3, 2, 2, 2], seed: 22), testTensor([2], seed: 23), testTensor([2], seed: 24)]) {
            batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: mean, runningVar: variance, training: false)
        }
    }

    @Test func localResponseNormalisation() {
        checkGradients([testTensor([2, 7, 3, 2], seed: 25, low: -2, high: 2)]) {
            localResponseNorm($0[0], size: 5, alpha: 0.1, beta: 0.75, k: 2)
        }
        checkGradients([testTensor([1, 12, 2, 2], seed: 26, low: -3, high: 3)]) {
            localResponseNorm($0[0], size: 9, alpha: 0.5, beta: 0.6, k: 1)
        }
    }
}

struct ActivationGradientTests {
    @Test func eltwiseActivations() {
        // Values away from the ReLU kink so finite differences are exact.
        let x = Tensor(testValues(24, seed: 27).map { $0 + ($0 >= 0 ? 0.05 : -0.05) }, shape: [2, 3, 2, 2])
        checkGradients([x]) { relu($0[0]) }
        checkGradients([x]) { leakyRelu($0[0], slope: 0.2) }
        checkGradients([x]) { elu($0[0]) }
        checkGradients([x]) { gelu($0[0]) }
    }

    @Test func eltwiseOnBlockedActivations() {
        // Conv output in oneDNN's blocked layout, then an activation and its backward in that
        // layout (ELU: smooth, so finite differences do not straddle a kink).
        checkGradients([testTensor([1, 3, 5, 5], seed: 28), testTensor([16, 3, 3, 3], seed: 29)]) {
            elu(conv2d($0[0], $0[1], padding: [1, 1]))
        }
    }

    @Test func softmaxFamily() {
        checkGradients([testTensor([3, 5], seed: 30)]) { softmax($0[0], axis: 1) }
        checkGradients([testTensor([2, 4, 3], seed: 31)]) { logSoftmax($0[0], axis: 1) }
    }
}

struct DenseGradientTests {
    @Test func linearAndMatmul() {
        checkGradients([testTensor([4, 5], seed: 32), testTensor([3, 5], seed: 33), testTensor([3], seed: 34)]) {
            linear($0[0], $0[1], bias: $0[2])
        }
        checkGradients([testTensor([2, 3, 4], seed: 35), testTensor([4, 2], seed: 36)]) { $0[0].matmul($0[1]) }
        checkGradients([testTensor([3, 4], seed: 37), testTensor([5, 4], seed: 38)]) { $0[0].matmul($0[1].transpose()) }
    }
}

struct LossGradientTests {
    @Test func softmaxCrossEntropyWithIgnoredLabels() {
        let labels = Tensor([2, -1, 0, 3] as [Int32])
        checkGradients([testTensor([4, 5], seed: 39, low: -3, high: 3)]) { softmaxCrossEntropy($0[0], labels) }
        let pixels = Tensor([0, 2, -1, 1, 1, 0] as [Int64], shape: [1, 2, 3])
        checkGradients([testTensor([1, 3, 2, 3], seed: 40)]) { softmaxCrossEntropy($0[0], pixels) }
        checkGradients([testTensor([4, 5], seed: 41)]) { softmaxCrossEntropy($0[0], labels, reduction: .none) }
    }

    @Test func regressionLosses() {
        let target = testTensor([3, 4], seed: 42), bits = Tensor((0..<12).map { Float($0 % 2) }, shape: [3, 4])
        checkGradients([testTensor([3, 4], seed: 43)]) { mseLoss($0[0], target) }
        checkGradients([testTensor([3, 4], seed: 44, low: -4, high: 4)]) {
            sigmoidBinaryCrossEntropy(logits: $0[0], targets: bits)
        }
    }
}

struct DropoutTests {
    @Test func trainingZeroesAndRescalesEvaluationPassesThrough() {
        let x = Tensor.ones([1000])
        let y = dropout(x, rate: 0.3, training: true, generator: Generator(seed: 5)).scalars
        let kept = y.filter { $0 != 0 }
        #expect(kept.allSatisfy { Swift.abs($0 - 1 / 0.7) < 1e-6 })
        #expect(Swift.abs(Float(kept.count) / 1000 - 0.7) < 0.05)
        #expect(dropout(x, rate: 0.3, training: false).scalars == x.scalars)
    }

    @Test func gradientFollowsTheMask() {
        let x = testTensor([50], seed: 45).requiringGrad()
        let y = dropout(x, rate: 0.5, training: true, generator: Generator(seed: 6))
        y.sum().backward()
        let output = y.scalars, grad = x.grad!.scalars
        for i in 0..<50 { #expect(grad[i] == (output[i] == 0 ? 0 : 2)) }
    }
}

struct NegativeSamplingLossTests {
    @Test func matchesTheWord2VecObjective() {
        let h = testTensor([2, 3], seed: 46), w = testTensor([5, 3], seed: 47)
        let targets = Tensor([Int64(1), 4]), negatives = Tensor([0, 2, 2, 3] as [Int64], shape: [2, 2])
        let loss = negativeSamplingLoss(h, targets: targets, negatives: negatives, outputWeights: w).item()
        let hv = h.scalars, wv = w.scalars
        func dot(_ row: Int, _ word: Int) -> Double { (0..<3).reduce(0) { $0 + Double(hv[row * 3 + $1]) * Double(wv[word * 3 + $1]) } }
        func logSigmoid(_ x: Double) -> Double { -Foundation.log(1 + Foundation.exp(-x)) }
        let expected = -(logSigmoid(dot(0, 1)) + logSigmoid(-dot(0, 0)) + logSigmoid(-dot(0, 2))
                         + logSigmoid(dot(1, 4)) + logSigmoid(-dot(1, 2)) + logSigmoid(-dot(1, 3)))
        #expect(Swift.abs(Double(loss) - expected) < 1e-5)
    }

    @Test func gradientsReachInputsAndOutputVectors() {
        let targets = Tensor([Int64(1), 4, 1]), negatives = Tensor([0, 2, 2, 3, 1, 1] as [Int64], shape: [3, 2])
        checkGradients([testTensor([3, 4], seed: 48), testTensor([5, 4], seed: 49)]) {
            negativeSamplingLoss($0[0], targets: targets, negatives: negatives, outputWeights: $0[1])
        }
    }
}
