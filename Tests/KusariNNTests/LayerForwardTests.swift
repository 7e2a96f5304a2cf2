import Foundation
import Kusari
import KusariNN
import Testing

struct LayerForwardTests {
    @Test func linearMatchesManualProduct() {
        let layer = Linear(3, 2, generator: Generator(seed: 1))
        setValues(layer.W, [1, 2, 3, -1, 0.5, 2])
        setValues(layer.b!, [0.5, -1])
        let x = Tensor([1, 0, -1, 2, 1, 0] as [Float], shape: [2, 3])
        // row 0: [1-3+0.5, -1-2-1] ; row 1: [2+2+0.5, -2+0.5-1]
        #expect(layer(x).shape == [2, 2])
        #expect(maxAbsDiff(layer(x).scalars, [-1.5, -4, 4.5, -2.5]) < 1e-6)
        let noBias = Linear(3, 2, bias: false)
        #expect(noBias.b == nil)
        // Leading axes are kept.
        #expect(layer(Tensor.ones([4, 5, 3])).shape == [4, 5, 2])
    }

    @Test(arguments: [
        (stride: 1, padding: 0, dilation: 1, groups: 1, bias: true),
        (stride: 2, padding: 1, dilation: 1, groups: 1, bias: false),
        (stride: 1, padding: 2, dilation: 2, groups: 2, bias: true),
    ])
    func conv2dMatchesDirectLoops(_ c: (stride: Int, padding: Int, dilation: Int, groups: Int, bias: Bool)) {
        let layer = Conv2d(4, 6, kernelSize: 3, stride: IntPair(c.stride), padding: IntPair(c.padding),
                           dilation: IntPair(c.dilation), groups: c.groups, bias: c.bias, generator: Generator(seed: 3))
        if let b = layer.b { setValues(b, lcgValues(6, seed: 4)) }
        let x = lcgTensor([2, 4, 7, 6], seed: 5)
        let expected = naiveConv2d(x, layer.W, bias: layer.b, stride: [c.stride, c.stride], padding: [c.padding, c.padding],
                                   dilation: [c.dilation, c.dilation], groups: c.groups)
        let y = layer(x)
        #expect(y.shape == expected.shape)
        #expect(maxAbsDiff(y.scalars, expected.values) < 1e-4)
    }

    @Test func convTranspose2dMatchesScatterLoops() {
        let layer = ConvTranspose2d(4, 6, kernelSize: [3, 2], stride: 2, padding: 1, groups: 2, generator: Generator(seed: 6))
        setValues(layer.b!, lcgValues(6, seed: 7))
        let x = lcgTensor([2, 4, 3, 4], seed: 8)
        let y = layer(x)
        // (in - 1) * stride - 2 * padding + k
        #expect(y.shape == [2, 6, 5, 6])
        let expected = naiveConvTranspose2d(x, layer.W, bias: layer.b, stride: [2, 2], padding: [1, 1], groups: 2,
                                            outputSize: [5, 6])
        #expect(maxAbsDiff(y.scalars, expected) < 1e-4)
        // An explicit, larger output size passed at call time.
        let bigger = layer(x, outputSize: [6, 7])
        #expect(bigger.shape == [2, 6, 6, 7])
        let expectedBigger = naiveConvTranspose2d(x, layer.W, bias: layer.b, stride: [2, 2], padding: [1, 1], groups: 2,
                                                  outputSize: [6, 7])
        #expect(maxAbsDiff(bigger.scalars, expectedBigger) < 1e-4)
    }

    @Test func bilinearKernelValues() {
        #expect(ConvTranspose2d.bilinearKernel(size: 4) == [0.25, 0.75, 0.75, 0.25].flatMap { a in
            [0.25, 0.75, 0.75, 0.25].map { a * $0 }
        })
        let odd = ConvTranspose2d.bilinearKernel(size: 5)  // factor 3, centre 2
        let profile: [Float] = [1.0 / 3, 2.0 / 3, 1, 2.0 / 3, 1.0 / 3]
        #expect(maxAbsDiff(odd, profile.flatMap { a in profile.map { a * $0 } }) < 1e-6)
        let up = ConvTranspose2d.bilinearUpsampling(channels: 2, factor: 2)
        #expect(up.W.shape == [2, 1, 4, 4] && up.groups == 2 && up.stride == 2 && up.padding == 1)
        #expect(!up.W.requiresGrad && up.b == nil)
        let dense = ConvTranspose2d.bilinearUpsampling(channels: 2, factor: 32, depthwise: false)
        #expect(dense.W.shape == [2, 2, 64, 64] && dense.padding == 16)
        let w = dense.W.scalars
        #expect(w[(0 * 2 + 1) * 4096 ..< (0 * 2 + 2) * 4096].allSatisfy { $0 == 0 }, "off-diagonal filters are zero")
        #expect(Array(w[(1 * 2 + 1) * 4096 ..< (1 * 2 + 2) * 4096]) == ConvTranspose2d.bilinearKernel(size: 64))
    }

    @Test func bilinearUpsamplingInterpolates() {
        // A constant image stays constant inside and fades at the border (zero padding outside).
        let up = ConvTranspose2d.bilinearUpsampling(channels: 1, factor: 2)
        let y = up(Tensor.ones([1, 1, 3, 3]))
        #expect(y.shape == [1, 1, 6, 6])
        let edge: [Float] = [0.75, 1, 1, 1, 1, 0.75]
        #expect(maxAbsDiff(y.scalars, edge.flatMap { a in edge.map { a * $0 } }) < 1e-6)
        // A linear ramp is interpolated linearly between the input samples, channels independently.
        let ramp = Tensor([0, 1, 2, 3, 10, 20, 30, 40] as [Float], shape: [1, 2, 1, 4])
        let z = ConvTranspose2d.bilinearUpsampling(channels: 2, factor: 2)(ramp)
        #expect(z.shape == [1, 2, 2, 8])
        let row = Array(z.scalars[1..<7])
        #expect(maxAbsDiff(row, [0.25, 0.75, 1.25, 1.75, 2.25, 2.75].map { $0 * 0.75 }) < 1e-5)
        #expect(maxAbsDiff(Array(z.scalars[17..<23]), [12.5, 17.5, 22.5, 27.5, 32.5, 37.5].map { $0 * 0.75 }) < 1e-4)
        // Dense and depthwise kernels agree; an explicit output size crops (FCN).
        let x = lcgTensor([1, 3, 4, 5], seed: 11)
        let depthwise = ConvTranspose2d.bilinearUpsampling(channels: 3, factor: 4)
        let dense = ConvTranspose2d.bilinearUpsampling(channels: 3, factor: 4, depthwise: false)
        #expect(depthwise(x).shape == [1, 3, 16, 20])
        #expect(maxAbsDiff(depthwise(x).scalars, dense(x).scalars) < 1e-5)
        #expect(depthwise(x, outputSize: [15, 18]).shape == [1, 3, 15, 18])
    }

    @Test func poolingLayers() {
        let x = lcgTensor([2, 3, 5, 5], seed: 12)
        let values = x.scalars
        func at(_ n: Int, _ c: Int, _ i: Int, _ j: Int) -> Float { values[((n * 3 + c) * 5 + i) * 5 + j] }
        // Overlapping 3x3 windows, stride 2.
        let maxPool = MaxPool2d(kernelSize: 3, stride: 2)
        var expected: [Float] = []
        for n in 0..<2 { for c in 0..<3 { for i in 0..<2 { for j in 0..<2 {
            expected.append((0..<3).flatMap { di in (0..<3).map { dj in at(n, c, 2 * i + di, 2 * j + dj) } }.max()!)
        } } } }
        #expect(maxPool(x).shape == [2, 3, 2, 2])
        #expect(maxAbsDiff(maxPool(x).scalars, expected) < 1e-6)
        #expect(MaxPool2d(kernelSize: 3, stride: 2, ceilMode: true)(Tensor.zeros([1, 1, 6, 6])).shape == [1, 1, 3, 3])

        let avgPool = AvgPool2d(kernelSize: 2)
        expected = []
        for n in 0..<2 { for c in 0..<3 { for i in 0..<2 { for j in 0..<2 {
            expected.append((at(n, c, 2 * i, 2 * j) + at(n, c, 2 * i + 1, 2 * j) + at(n, c, 2 * i, 2 * j + 1)
                + at(n, c, 2 * i + 1, 2 * j + 1)) / 4)
        } } } }
        #expect(maxAbsDiff(avgPool(x).scalars, expected) < 1e-6)

        let globalAvg = GlobalAvgPool2d()(x), globalMax = GlobalMaxPool2d()(x)
        #expect(globalAvg.shape == [2, 3] && globalMax.shape == [2, 3])
        for n in 0..<2 { for c in 0..<3 {
            let window = (0..<25).map { values[(n * 3 + c) * 25 + $0] }
            #expect(Swift.abs(globalAvg.scalars[n * 3 + c] - window.reduce(0, +) / 25) < 1e-5)
            #expect(globalMax.scalars[n * 3 + c] == window.max()!)
        } }
    }

    @Test func batchNormTrainingAndRunningStatistics() {
        let bn = BatchNorm(2)
        #expect(bn.eps == 2e-5 && bn.momentum == 0.1)
        #expect(BatchNorm(2, decay: 0.8).momentum == 1 - 0.8)
        setValues(bn.gamma!, [2, 0.5])
        setValues(bn.beta!, [1, -1])
        // Channel 0 holds 1...8, channel 1 holds 0, 2, ..., 14 (N = 2, 2x2 maps).
        var values = [Float](repeating: 0, count: 16)
        for n in 0..<2 { for c in 0..<2 { for p in 0..<4 {
            let k = Float(n * 4 + p)
            values[(n * 2 + c) * 4 + p] = c == 0 ? k + 1 : 2 * k
        } } }
        let x = Tensor(values, shape: [2, 2, 2, 2])
        let y = bn(x).scalars
        for c in 0..<2 {
            let channel = (0..<2).flatMap { n in (0..<4).map { y[(n * 2 + c) * 4 + $0] } }
            let mean = channel.reduce(0, +) / 8
            let variance = channel.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 8
            #expect(Swift.abs(mean - [1, -1][c]) < 1e-4)
            #expect(Swift.abs(variance - [4, 0.25][c]) < 1e-3)
        }
        // Unbiased variances: 6 and 24; means 4.5 and 7.
        #expect(maxAbsDiff(bn.avgMean!.scalars, [0.45, 0.7]) < 1e-5)
        #expect(maxAbsDiff(bn.avgVar!.scalars, [0.9 + 0.6, 0.9 + 2.4]) < 1e-4)

        bn.eval()
        let z = bn(x).scalars
        let expected = (0..<16).map { index -> Float in
            let c = (index / 4) % 2
            let mean: Float = [0.45, 0.7][c], variance: Float = [1.5, 3.3][c]
            return (values[index] - mean) / (variance + 2e-5).squareRoot() * [2, 0.5][c] + [1, -1][c]
        }
        #expect(maxAbsDiff(z, expected) < 1e-4)
        #expect(maxAbsDiff(bn.avgMean!.scalars, [0.45, 0.7]) < 1e-6, "evaluation must not update statistics")

        // [N, C] input and no running statistics.
        let bare = BatchNorm(3, affine: false, trackRunningStats: false)
        bare.eval()
        let flat = bare(lcgTensor([5, 3], seed: 13)).scalars
        for c in 0..<3 { #expect(Swift.abs((0..<5).map { flat[$0 * 3 + c] }.reduce(0, +)) < 1e-4) }
        #expect(bare.namedBuffers().isEmpty && bare.parameters().isEmpty)
    }

    @Test func dropoutTrainingAndEvaluation() {
        let x = Tensor.ones([100, 100])
        let layer = Dropout(0.3, generator: Generator(seed: 5))
        let y = layer(x).scalars
        let zeros = y.filter { $0 == 0 }.count
        #expect(Swift.abs(Float(zeros) / 10_000 - 0.3) < 0.02)
        #expect(y.allSatisfy { $0 == 0 || Swift.abs($0 - 1 / 0.7) < 1e-5 })
        // Same seed, same mask.
        #expect(Dropout(0.3, generator: Generator(seed: 5))(x).scalars == y)
        layer.eval()
        #expect(layer(x).scalars == x.scalars)
    }

    @Test func localResponseNormMatchesFormula() {
        let x = lcgTensor([1, 5, 2, 2], seed: 14, scale: 2)
        let layer = LocalResponseNorm(size: 3, alpha: 0.1, beta: 0.75, k: 2)
        let values = x.scalars
        var expected: [Float] = []
        for c in 0..<5 { for p in 0..<4 {
            var sum: Float = 0
            for neighbour in Swift.max(0, c - 1)...Swift.min(4, c + 1) {
                sum += values[neighbour * 4 + p] * values[neighbour * 4 + p]
            }
            let denominator = Foundation.pow(Double(2 + 0.1 / 3 * sum), 0.75)
            expected.append(values[c * 4 + p] / Float(denominator))
        } }
        #expect(maxAbsDiff(layer(x).scalars, expected) < 1e-5)
        let chainer = LocalResponseNorm.chainer(n: 5, k: 2, alpha: 1e-4, beta: 0.75)
        #expect(chainer.size == 5 && Swift.abs(chainer.alpha - 5e-4) < 1e-9 && chainer.k == 2)
    }

    @Test func activationModules() {
        let raw: [Float] = [-2, -0.5, 0, 0.5, 2, 3]
        let x = Tensor(raw, shape: [2, 3])
        #expect(ReLU()(x).scalars == raw.map { Swift.max($0, 0) })
        #expect(maxAbsDiff(LeakyReLU(slope: 0.2)(x).scalars, raw.map { $0 > 0 ? $0 : 0.2 * $0 }) < 1e-6)
        let eluExpected = raw.map { (v: Float) -> Float in v > 0 ? v : 1.5 * (Foundation.exp(v) - 1) }
        #expect(maxAbsDiff(ELU(alpha: 1.5)(x).scalars, eluExpected) < 1e-5)
        #expect(maxAbsDiff(Tanh()(x).scalars, raw.map { Foundation.tanh($0) }) < 1e-6)
        #expect(maxAbsDiff(Sigmoid()(x).scalars, raw.map { 1 / (1 + Foundation.exp(-$0)) }) < 1e-6)
        let softmaxRows = Softmax()(x).scalars
        for row in 0..<2 {
            let exps = raw[(row * 3)..<(row * 3 + 3)].map { Foundation.exp($0) }
            let total = exps.reduce(0, +)
            #expect(maxAbsDiff(Array(softmaxRows[(row * 3)..<(row * 3 + 3)]), exps.map { $0 / total }) < 1e-6)
        }
        #expect(maxAbsDiff(LogSoftmax()(x).scalars, softmaxRows.map { Foundation.log($0) }) < 1e-5)
        #expect(Flatten()(Tensor.zeros([2, 3, 4, 5])).shape == [2, 60])
        #expect(Lambda { $0 * 2 }(x).scalars == raw.map { $0 * 2 })
    }

    @Test func embeddingLooksUpRows() {
        let layer = Embedding(5, 3, generator: Generator(seed: 2))
        let table = layer.W.scalars
        let indices = Tensor([4, 0, 2, 2] as [Int32], shape: [2, 2])
        let y = layer(indices)
        #expect(y.shape == [2, 2, 3])
        let rows: [Int] = [4, 0, 2, 2]
        let expected: [Float] = rows.flatMap { (row: Int) -> [Float] in Array(table[(row * 3)..<(row * 3 + 3)]) }
        #expect(y.scalars == expected)
        // Chainer's EmbedID draws from a standard normal.
        let big = Embedding(1000, 100, generator: Generator(seed: 3)).W.scalars
        let mean = big.reduce(0, +) / Float(big.count)
        let std = (big.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(big.count)).squareRoot()
        #expect(Swift.abs(mean) < 0.02 && Swift.abs(std - 1) < 0.02)
    }

    @Test func sequentialAppliesLayersInOrder() {
        let first = Linear(3, 4, generator: Generator(seed: 1)), second = Linear(4, 2, generator: Generator(seed: 2))
        let model = Sequential(first, ReLU(), second)
        let x = lcgTensor([5, 3], seed: 15)
        #expect(maxAbsDiff(model(x).scalars, second(relu(first(x))).scalars) < 1e-6)
        model.append(Sigmoid())
        #expect(model.count == 4 && model[3] is Sigmoid)
    }
}
