import Foundation
import Kusari
import KusariNN
import Testing

/// Backward of every layer against central finite differences.
struct LayerGradientTests {
    private func check(_ tensors: [Tensor], epsilon: Float = 1e-2, _ loss: () -> Tensor,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        let mismatches = gradientMismatches(of: tensors, epsilon: epsilon, loss: loss)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))", sourceLocation: sourceLocation)
    }

    @Test func linear() {
        let layer = Linear(4, 3, generator: Generator(seed: 1))
        let x = lcgTensor([2, 4], seed: 2, requiresGrad: true)
        check([x, layer.W, layer.b!]) { weightedSum(layer(x)) }
    }

    @Test func conv2d() {
        let layer = Conv2d(4, 4, kernelSize: 3, stride: 2, padding: 1, groups: 2, generator: Generator(seed: 3))
        let x = lcgTensor([2, 4, 5, 5], seed: 4, requiresGrad: true)
        check([x, layer.W, layer.b!]) { weightedSum(layer(x)) }
    }

    @Test func convTranspose2d() {
        let layer = ConvTranspose2d(3, 2, kernelSize: 3, stride: 2, padding: 1, generator: Generator(seed: 5))
        let x = lcgTensor([1, 3, 3, 3], seed: 6, requiresGrad: true)
        check([x, layer.W, layer.b!]) { weightedSum(layer(x, outputSize: [6, 6])) }
        let up = ConvTranspose2d.bilinearUpsampling(channels: 2, factor: 2)
        let y = lcgTensor([1, 2, 3, 3], seed: 7, requiresGrad: true)
        check([y]) { weightedSum(up(y)) }
    }

    @Test func pooling() {
        // Distinct values spaced 0.05 apart, so no two entries of a window are within epsilon.
        let order = (0..<50).map { ($0 * 37) % 50 }
        let x = Tensor(order.map { Float($0) * 0.05 }, shape: [1, 2, 5, 5]).requiringGrad()
        check([x], epsilon: 1e-2) { weightedSum(MaxPool2d(kernelSize: 3, stride: 2, ceilMode: true)(x)) }
        check([x]) { weightedSum(AvgPool2d(kernelSize: 2, stride: 1)(x)) }
        check([x]) { weightedSum(GlobalAvgPool2d()(x)) }
        check([x], epsilon: 1e-2) { weightedSum(GlobalMaxPool2d()(x)) }
    }

    @Test func batchNorm() {
        let bn = BatchNorm(3)
        setValues(bn.gamma!, [1.5, 0.5, -1])
        let x = lcgTensor([4, 3, 2, 2], seed: 8, requiresGrad: true)
        check([x, bn.gamma!, bn.beta!], epsilon: 5e-3) { weightedSum(bn(x)) }
        bn.eval()
        check([x, bn.gamma!, bn.beta!]) { weightedSum(bn(x)) }
        let flat = BatchNorm(3)
        let z = lcgTensor([5, 3], seed: 9, requiresGrad: true)
        check([z, flat.gamma!, flat.beta!], epsilon: 5e-3) { weightedSum(flat(z)) }
    }

    @Test func dropoutWithFixedMask() {
        let x = lcgTensor([4, 5], seed: 10, requiresGrad: true)
        check([x]) { weightedSum(Dropout(0.4, generator: Generator(seed: 11))(x)) }
    }

    @Test func localResponseNorm() {
        let x = lcgTensor([1, 4, 2, 2], seed: 12, scale: 2, requiresGrad: true)
        check([x]) { weightedSum(LocalResponseNorm(size: 3, alpha: 0.5, beta: 0.75, k: 1)(x)) }
    }

    @Test func activations() {
        // Keep inputs away from the kinks at 0.
        let x = Tensor(lcgValues(12, seed: 13).map { $0 < 0 ? $0 - 0.1 : $0 + 0.1 }, shape: [3, 4]).requiringGrad()
        let layers: [any UnaryLayer] = [ReLU(), LeakyReLU(slope: 0.2), ELU(alpha: 0.7), Tanh(), Sigmoid(), Softmax(),
                                        LogSoftmax(), Flatten(startAxis: 0)]
        for layer in layers { check([x]) { weightedSum(layer(x)) } }
    }

    @Test func embedding() {
        let layer = Embedding(6, 3, generator: Generator(seed: 14))
        let indices = Tensor([1, 4, 1, 0] as [Int64], shape: [4])
        check([layer.W]) { weightedSum(layer(indices)) }
        layer.W.zeroGrad()
        weightedSum(layer(indices)).backward()
        let grad = layer.W.grad!.scalars
        #expect(grad[6..<9].allSatisfy { $0 == 0 }, "unused rows get no gradient")
    }

    @Test func lstm() {
        let lstm = LSTM(2, 3, generator: Generator(seed: 15))
        setValues(lstm.upward.b!, lcgValues(12, seed: 16))
        let x = lcgTensor([3, 2, 2], seed: 17, requiresGrad: true)
        check([x, lstm.upward.W, lstm.upward.b!, lstm.lateral.W]) {
            lstm.resetState()
            return weightedSum(lstm(x))
        }
    }

    @Test func rcl() {
        let layer = RCL(steps: 3, channels: 2, generator: Generator(seed: 18))
        // A large feed-forward bias keeps every pre-activation positive, away from ReLU's kink.
        setValues(layer.convFF.b!, [4, 5])
        let x = lcgTensor([1, 2, 4, 4], seed: 19, scale: 0.5, requiresGrad: true)
        check([x, layer.convR.W, layer.convR.b!, layer.convFF.W, layer.convFF.b!], epsilon: 5e-3) {
            weightedSum(layer(x)) * 0.1
        }
    }

    @Test func sequential() {
        let model = Sequential(Linear(3, 4, generator: Generator(seed: 20)), Tanh(), Linear(4, 2, generator: Generator(seed: 21)))
        let x = lcgTensor([2, 3], seed: 22)
        check(model.parameters()) { weightedSum(model(x)) }
    }
}
