import Foundation
import Kusari
import KusariTestSupport
import Testing

/// The emulated GPU the dispatch tests share, registered once as an unusual ordinal.
private let emulated = EmulatedDevice.install(ordinal: 3)
private let gpu = emulated.device

/// Runs `op` on CPU copies of `inputs` and on copies moved to the emulated GPU. The device result
/// must stay on the GPU with the CPU's shape, dtype and values; when it is differentiable, the
/// same pseudo-random output gradient must give every float input the CPU's gradient, on the
/// GPU; and each backend method in `methods` must have run. Float inputs require gradients.
private func expectSameOnDevice(_ methods: [String], _ inputs: [Tensor], tolerance: Float = 1e-5,
                                sourceLocation: SourceLocation = #_sourceLocation, _ op: ([Tensor]) -> Tensor) throws {
    let before = emulated.calls
    let hostLeaves = inputs.map { $0.detach().requiringGrad($0.dtype == .float32) }
    let deviceLeaves = try inputs.map { try $0.to(device: gpu).requiringGrad($0.dtype == .float32) }
    let expected = op(hostLeaves), actual = op(deviceLeaves)
    #expect(actual.device == gpu, "the result is on \(actual.device)", sourceLocation: sourceLocation)
    #expect(actual.shape == expected.shape && actual.dtype == expected.dtype,
            "\(actual.shape) \(actual.dtype) vs \(expected.shape) \(expected.dtype)", sourceLocation: sourceLocation)
    assertClose(actual.scalars, expected.scalars, tolerance: tolerance, sourceLocation: sourceLocation)
    #expect(actual.requiresGrad == expected.requiresGrad, sourceLocation: sourceLocation)
    if expected.requiresGrad && actual.requiresGrad {
        let seed = testTensor(expected.shape, seed: 97, low: 0.5, high: 1.5)
        expected.backward(seed)
        actual.backward(try seed.to(device: gpu))
        for (index, (host, device)) in zip(hostLeaves, deviceLeaves).enumerated() where host.requiresGrad {
            #expect((host.grad == nil) == (device.grad == nil), "input \(index) gradient presence",
                    sourceLocation: sourceLocation)
            guard let hostGrad = host.grad, let deviceGrad = device.grad else { continue }
            #expect(deviceGrad.device == gpu, "input \(index) gradient is on \(deviceGrad.device)",
                    sourceLocation: sourceLocation)
            assertClose(deviceGrad.scalars, hostGrad.scalars, tolerance: tolerance, sourceLocation: sourceLocation)
        }
    }
    let after = emulated.calls
    for method in methods {
        #expect(after[method, default: 0] > before[method, default: 0], "\(method) did not run on the device",
                sourceLocation: sourceLocation)
    }
}

/// Values rounded to halves, so comparisons meet ties.
private func coarseTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    Tensor(testValues(Shape.count(shape), seed: seed, low: -2, high: 2).map { ($0 * 2).rounded() / 2 }, shape: shape)
}

/// Every op of the core, run on the emulated GPU and compared with the CPU. Serialized so that
/// the call counters of the shared device only move for the test that checks them.
@Suite(.serialized)
struct DeviceDispatchTests {
    // MARK: Elementwise

    @Test func broadcastArithmetic() throws {
        let a = testTensor([2, 3, 4], seed: 1), b = testTensor([3, 1], seed: 2)
        let c = testTensor([4], seed: 3, low: 1, high: 2)
        try expectSameOnDevice(["binary"], [a, b, c]) { t in (t[0] + t[1]) * t[2] - t[0] / (t[2] + t[1]) }
    }

    @Test func arithmeticWithCPUScalars() throws {
        let x = testTensor([3, 5], seed: 4, low: 0.5, high: 2)
        try expectSameOnDevice(["binary"], [x]) { t in (t[0] * 0.5 + 2) - 1 / t[0] + (3 - t[0]) / 4 - -t[0] }
    }

    @Test func maximumMinimumAndPower() throws {
        let a = coarseTensor([4, 3], seed: 5), b = coarseTensor([3], seed: 6)
        let base = testTensor([4, 3], seed: 7, low: 0.5, high: 2), exponent = testTensor([4, 3], seed: 8)
        try expectSameOnDevice(["binary"], [a, b]) { t in t[0].maximum(t[1]) * 2 + t[0].minimum(t[1]) }
        try expectSameOnDevice(["binary"], [base, exponent]) { t in t[0].pow(t[1]) + t[0].pow(3) + t[0].pow(2) }
    }

    @Test func unaryMath() throws {
        let positive = testTensor([2, 6], seed: 9, low: 0.2, high: 3)
        let any = testTensor([2, 6], seed: 10, low: -3, high: 3)
        try expectSameOnDevice(["unary"], [positive]) { t in t[0].log() + t[0].sqrt() }
        try expectSameOnDevice(["unary"], [any]) { t in
            t[0].exp() + t[0].abs() + t[0].sign() + t[0].sin() * t[0].cos() + t[0].tanh() + t[0].sigmoid()
                + t[0].softplus()
        }
        try expectSameOnDevice(["binary"], [any]) { t in t[0].clamp(min: -1, max: 0.5) + t[0].square() }
    }

    @Test func unaryMathOnAStridedView() throws {
        try expectSameOnDevice(["copy", "unary"], [testTensor([3, 4], seed: 11)]) { t in t[0].transpose().exp() }
    }

    @Test func comparisonsAndWhere() throws {
        let a = coarseTensor([3, 4], seed: 12), b = coarseTensor([4], seed: 13)
        let comparisons: [(Tensor, Tensor) -> Tensor] = [
            { $0.equal($1) }, { $0.notEqual($1) }, { $0.greater($1) }, { $0.greaterEqual($1) },
            { $0.less($1) }, { $0.lessEqual($1) },
        ]
        for compare in comparisons {
            try expectSameOnDevice(["binary"], [a, b]) { t in compare(t[0], t[1]) }
        }
        try expectSameOnDevice(["binary"], [a]) { t in t[0].greater(0.5).to(.float32) + t[0].less(0).to(.float32) }
        try expectSameOnDevice(["binary"], [a, b]) { t in Tensor.where(t[0].greater(t[1]), t[0], t[1] * 2) }
    }

    // MARK: Reductions and products

    @Test func sumsAndMeans() throws {
        let x = testTensor([2, 3, 4, 5], seed: 14)
        try expectSameOnDevice(["reduce"], [x]) { t in t[0].sum(axes: [0, 2]) }
        try expectSameOnDevice(["reduce"], [x]) { t in t[0].mean(axis: 1, keepDims: true) }
        try expectSameOnDevice(["reduce"], [x]) { t in t[0].sum() + t[0].mean() }
        try expectSameOnDevice(["reduce"], [x]) { t in t[0].sum(axes: [1, 3], keepDims: true) }
    }

    @Test func extremaAndTheirPositions() throws {
        let x = testTensor([3, 4, 5], seed: 15), ties = coarseTensor([4, 6], seed: 16)
        try expectSameOnDevice(["reduce"], [x]) { t in t[0].max(axes: [0, 2]) + t[0].max(axes: [1, 2]).sum() }
        try expectSameOnDevice(["reduce"], [x]) { t in t[0].min(axis: 0, keepDims: true) }
        try expectSameOnDevice(["reduce"], [ties]) { t in t[0].max(axis: 1) - t[0].min(axis: 0).sum() }
        try expectSameOnDevice(["reduce"], [x]) { t in t[0].argmax(axis: 1) }
        try expectSameOnDevice(["reduce"], [ties]) { t in t[0].argmin(axis: -1, keepDims: true) }
    }

    @Test func matrixProducts() throws {
        let a = testTensor([3, 4], seed: 17), b = testTensor([4, 5], seed: 18), v = testTensor([4], seed: 19)
        try expectSameOnDevice(["matmul"], [a, b]) { t in t[0].matmul(t[1]) }
        try expectSameOnDevice(["matmul"], [a, b]) { t in t[1].transpose().matmul(t[0].transpose()) }
        try expectSameOnDevice(["matmul"], [a, v]) { t in t[0].matmul(t[1]) }
    }

    @Test func batchedMatrixProducts() throws {
        let a = testTensor([2, 3, 4], seed: 20), b = testTensor([4, 5], seed: 21)
        let c = testTensor([2, 1, 3, 4], seed: 22), d = testTensor([3, 4, 2], seed: 23)
        try expectSameOnDevice(["matmul"], [a, b]) { t in t[0].matmul(t[1]) }
        try expectSameOnDevice(["matmul"], [c, d]) { t in t[0].matmul(t[1]) }
    }

    @Test func linearLayers() throws {
        let x = testTensor([2, 3, 4], seed: 24), weight = testTensor([5, 4], seed: 25), bias = testTensor([5], seed: 26)
        try expectSameOnDevice(["matmul", "copy"], [x, weight, bias]) { t in linear(t[0], t[1], bias: t[2]) }
        try expectSameOnDevice(["matmul"], [x, weight]) { t in linear(t[0], t[1]) }
    }

    // MARK: Convolution and pooling

    @Test func groupedStridedPaddedConvolution() throws {
        let x = testTensor([2, 4, 7, 6], seed: 27), weight = testTensor([6, 2, 3, 3], seed: 28)
        let bias = testTensor([6], seed: 29)
        try expectSameOnDevice(["convolutionForward", "convolutionBackward"], [x, weight, bias]) { t in
            conv2d(t[0], t[1], bias: t[2], stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2)
        }
        try expectSameOnDevice(["convolutionForward", "convolutionBackward"], [x, weight]) { t in
            conv2d(t[0], t[1], padding: [1, 1], groups: 2)
        }
    }

    @Test func transposedConvolution() throws {
        let x = testTensor([2, 4, 5, 5], seed: 30), weight = testTensor([4, 3, 3, 3], seed: 31)
        let bias = testTensor([6], seed: 32)
        try expectSameOnDevice(["convolutionForward", "convolutionBackward"], [x, weight, bias]) { t in
            convTranspose2d(t[0], t[1], bias: t[2], stride: [2, 2], padding: [1, 1], outputSize: [10, 10], groups: 2)
        }
        let single = testTensor([3, 2, 3, 3], seed: 33)
        try expectSameOnDevice(["convolutionForward", "convolutionBackward"], [x.slice(axis: 1, end: 3), single]) { t in
            convTranspose2d(t[0], t[1], stride: [1, 2])
        }
    }

    @Test func maxPooling() throws {
        let x = testTensor([2, 3, 8, 7], seed: 34)
        try expectSameOnDevice(["poolingForward", "poolingBackward"], [x]) { t in
            maxPool2d(t[0], kernelSize: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true)
        }
        try expectSameOnDevice(["poolingForward", "poolingBackward"], [x]) { t in maxPool2d(t[0], kernelSize: [2, 2]) }
        try expectSameOnDevice(["poolingForward"], [x]) { t in globalMaxPool2d(t[0]) }
    }

    @Test func averagePooling() throws {
        let x = testTensor([2, 3, 7, 5], seed: 35)
        try expectSameOnDevice(["poolingForward", "poolingBackward"], [x]) { t in
            avgPool2d(t[0], kernelSize: [2, 2], ceilMode: true)
        }
        try expectSameOnDevice(["poolingForward", "poolingBackward"], [x]) { t in
            avgPool2d(t[0], kernelSize: [3, 3], stride: [2, 2], padding: [1, 1])
        }
        try expectSameOnDevice(["poolingForward", "poolingBackward"], [x]) { t in
            avgPool2d(t[0], kernelSize: [3, 2], stride: [2, 1], padding: [1, 1], ceilMode: true, countIncludePad: false)
        }
        try expectSameOnDevice(["poolingForward"], [x]) { t in globalAvgPool2d(t[0]) }
    }

    // MARK: Normalisation

    @Test func batchNormInTrainingUpdatesTheRunningStatistics() throws {
        for shape in [[4, 3, 5, 5], [6, 3]] {
            let x = testTensor(shape, seed: 36, low: -1, high: 3)
            let weight = testTensor([3], seed: 37, low: 0.5, high: 1.5), bias = testTensor([3], seed: 38)
            var running: [(mean: Tensor, variance: Tensor)] = []
            try expectSameOnDevice(["batchNormForward", "batchNormBackward"], [x, weight, bias]) { t in
                let statistics = (mean: Tensor.zeros([3], on: t[0].device), variance: Tensor.ones([3], on: t[0].device))
                running.append(statistics)
                return batchNorm(t[0], weight: t[1], bias: t[2], runningMean: statistics.mean,
                                 runningVar: statistics.variance, training: true, momentum: 0.2)
            }
            #expect(running.count == 2 && running[1].mean.device == gpu)
            assertClose(running[1].mean.scalars, running[0].mean.scalars)
            assertClose(running[1].variance.scalars, running[0].variance.scalars)
            try expectSameOnDevice(["batchNormForward", "batchNormBackward"], [x]) { t in
                batchNorm(t[0], weight: nil, bias: nil, runningMean: nil, runningVar: nil, training: true)
            }
        }
    }

    @Test func batchNormInEvaluation() throws {
        let x = testTensor([4, 3, 2, 2], seed: 39), weight = testTensor([3], seed: 40, low: 0.5, high: 1.5)
        let bias = testTensor([3], seed: 41), mean = testTensor([3], seed: 42)
        let variance = testTensor([3], seed: 43, low: 0.5, high: 2)
        // Without gradients the backend's forward runs; with them, the differentiable elementwise path.
        try expectSameOnDevice(["batchNormForward"], [x, weight, bias, mean, variance]) { t in
            withNoGrad {
                batchNorm(t[0], weight: t[1], bias: t[2], runningMean: t[3], runningVar: t[4], training: false)
            }
        }
        try expectSameOnDevice(["binary"], [x, weight, bias, mean, variance]) { t in
            batchNorm(t[0], weight: t[1], bias: t[2], runningMean: t[3], runningVar: t[4], training: false)
        }
    }

    @Test func localResponseNormalisation() throws {
        let x = testTensor([2, 7, 3, 3], seed: 44)
        try expectSameOnDevice(["localResponseNormForward", "localResponseNormBackward"], [x]) { t in
            localResponseNorm(t[0], size: 5, alpha: 1e-2, beta: 0.75, k: 2)
        }
    }

    // MARK: Activations and softmax

    @Test func activations() throws {
        let x = testTensor([3, 4, 5], seed: 45, low: -3, high: 3)
        let methods = ["activationForward", "activationBackward"]
        try expectSameOnDevice(methods, [x]) { t in relu(t[0]) + t[0].relu() }
        try expectSameOnDevice(methods, [x]) { t in leakyRelu(t[0], slope: 0.2) }
        try expectSameOnDevice(methods, [x]) { t in elu(t[0], alpha: 0.7) }
        try expectSameOnDevice(methods, [x]) { t in gelu(t[0]) }
    }

    @Test func softmaxAndLogSoftmax() throws {
        let x = testTensor([2, 5, 3], seed: 46, low: -4, high: 4)
        let methods = ["softmaxForward", "softmaxBackward"]
        try expectSameOnDevice(methods, [x]) { t in softmax(t[0], axis: 1) }
        try expectSameOnDevice(methods, [x]) { t in softmax(t[0]) }
        try expectSameOnDevice(methods, [x]) { t in logSoftmax(t[0], axis: 1) }
        try expectSameOnDevice(methods, [x]) { t in logSoftmax(t[0], axis: 0) }
    }

    @Test func softmaxCrossEntropyWithIgnoredRows() throws {
        let logits = testTensor([6, 5], seed: 47, low: -3, high: 3), labels = Tensor([Int64(1), 4, -1, 0, 4, 2])
        for reduction in [Reduction.mean, .sum, .none] {
            try expectSameOnDevice(["softmaxCrossEntropy"], [logits, labels]) { t in
                softmaxCrossEntropy(t[0], t[1], reduction: reduction)
            }
        }
        let pixels = testTensor([2, 3, 2, 2], seed: 48)
        let pixelLabels = Tensor([Int32(0), 2, 255, 1, 1, 255, 0, 2], shape: [2, 2, 2])
        try expectSameOnDevice(["softmaxCrossEntropy"], [pixels, pixelLabels]) { t in
            softmaxCrossEntropy(t[0], t[1], ignoreIndex: 255)
        }
    }

    @Test func outOfRangeLabelsAndIndicesStopTheProcess() async {
        let label = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let logits = try Tensor.zeros([2, 3]).to(device: emulated.device)
            _ = softmaxCrossEntropy(logits, try Tensor([Int64(0), 3]).to(device: emulated.device))
        }
        let index = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let table = try Tensor.zeros([4, 2]).to(device: emulated.device)
            _ = embedding(try Tensor([Int64(4)]).to(device: emulated.device), table)
        }
        for (result, message) in [(label, "label 3 is outside 0..<3"), (index, "index 4 is outside 0..<4")] {
            let output = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
            #expect(output.contains(message), "\(output)")
        }
    }

    // MARK: Indexing and joining

    @Test func embeddingAndIndexSelect() throws {
        let table = testTensor([7, 4], seed: 49), indices = Tensor([Int64(3), 0, 3, 6, 1, 3], shape: [2, 3])
        let methods = ["gatherRows", "scatterAddRows"]
        try expectSameOnDevice(methods, [indices, table]) { t in embedding(t[0], t[1]) }
        let x = testTensor([3, 5, 2], seed: 50), picks = Tensor([Int32(4), 0, 4, 2]), rows = Tensor([Int64(2), 0, 2])
        try expectSameOnDevice(methods, [x, picks]) { t in t[0].indexSelect(axis: 1, indices: t[1]) }
        try expectSameOnDevice(methods, [x, rows]) { t in t[0].indexSelect(axis: 0, indices: t[1]) }
    }

    @Test func gatherAndScatterAdd() throws {
        let x = testTensor([3, 4], seed: 51), indices = Tensor([Int64(0), 3, 3, 1, 2, 2], shape: [3, 2])
        let source = testTensor([3, 2], seed: 52)
        try expectSameOnDevice([], [x, indices]) { t in t[0].gather(axis: 1, indices: t[1]) }
        try expectSameOnDevice([], [x, indices, source]) { t in t[0].scatterAdd(axis: 1, indices: t[1], source: t[2]) }
    }

    @Test func concatAndSplit() throws {
        let a = testTensor([2, 3, 2], seed: 53), b = testTensor([2, 1, 2], seed: 54)
        try expectSameOnDevice(["copy"], [a, b]) { t in Tensor.concat([t[0], t[1] * 2, t[0]], axis: 1) }
        try expectSameOnDevice(["copy"], [a]) { t in
            let parts = t[0].split(sizes: [1, 2], axis: 1)
            return Tensor.concat([parts[1] * 3, parts[0]], axis: 1)
        }
        try expectSameOnDevice(["copy"], [a, a]) { t in Tensor.stack([t[0], t[1].exp()], axis: 3) }
    }

    // MARK: Memory and randomness

    @Test func fillsConversionsAndCopies() throws {
        let before = emulated.calls
        let filled = Tensor.full([2, 3], 2.5, on: gpu), ones = Tensor.ones([4], dtype: .int32, on: gpu)
        #expect(filled.device == gpu && filled.scalars == [Float](repeating: 2.5, count: 6))
        #expect(ones.device == gpu && ones.toArray(of: Int32.self) == [1, 1, 1, 1])
        let values = try Tensor([Float(-1.5), 2.7, 0, 3.2]).to(device: gpu)
        #expect(values.to(.int64).toArray(of: Int64.self) == [-1, 2, 0, 3])
        #expect(values.to(.int32).to(.float32).scalars == [-1, 2, 0, 3])
        let target = Tensor.zeros([2, 2], on: gpu)
        target.assign(values.reshape([2, 2]).transpose())
        #expect(target.scalars == [-1.5, 0, 2.7, 3.2])
        let after = emulated.calls
        for method in ["fill", "convert", "copy"] {
            #expect(after[method, default: 0] > before[method, default: 0], "\(method) did not run on the device")
        }
    }

    @Test func randomDrawsMatchTheCPUAndAdvanceTheGenerator() throws {
        let before = emulated.calls
        let draws: [(Generator, Device) -> Tensor] = [
            { Tensor.uniform([5, 7], low: -2, high: 3, generator: $0, on: $1) },
            { Tensor.normal([9], mean: 1, std: 0.5, generator: $0, on: $1) },
            { Tensor.bernoulli([3, 3], probability: 0.3, generator: $0, on: $1) },
            { Tensor.randint([11], low: -4, high: 9, generator: $0, on: $1) },
            { Tensor.randint([6], low: 0, high: 100, dtype: .int32, generator: $0, on: $1) },
        ]
        for draw in draws {
            let (host, device) = (Generator(seed: 77), Generator(seed: 77))
            host.state = (77, 5)
            device.state = (77, 5)
            let expected = draw(host, .cpu), actual = draw(device, gpu)
            #expect(actual.device == gpu && actual.dtype == expected.dtype && actual.shape == expected.shape)
            #expect(actual.scalars == expected.scalars)
            #expect(device.state == host.state)
        }
        #expect(emulated.calls["random", default: 0] >= before["random", default: 0] + draws.count)
    }

    @Test func dropoutDrawsTheCPUMask() throws {
        let x = testTensor([4, 6], seed: 55)
        try expectSameOnDevice(["random", "binary"], [x]) { t in
            dropout(t[0], rate: 0.3, training: true, generator: Generator(seed: 12))
        }
    }
}
