@testable import Kusari
import KusariTestSupport
import Testing
@testable import KusariCUDA

/// The CUDA backend's convolutions, batch normalisation and LRN through the ``ReferenceDNN`` stand-in, against the CPU's, on a
/// machine without a GPU: the descriptors it builds (shapes, strides, padding, stride, dilation,
/// groups, data and compute types), the roles it gives cuDNN's three convolution calls for
/// convolution and transposed convolution, its algorithm choice and workspace must give the
/// CPU's output, input gradient and weight gradient (and bias gradient for float32), in float32,
/// float16 and bfloat16. Tolerances relative to `max(1, |value|)`: 1e-5 for float32, 2e-3 for
/// float16 and 1e-2 for bfloat16 (one rounding of the result to the 16-bit type). Batch
/// normalisation and LRN are checked the same way (float32). Needs NVRTC for the backend: skipped with a
/// message without it.
@Suite(.serialized)
struct CUDNNCallTests {
    /// One convolution of the check.
    struct Case: CustomStringConvertible {
        let transposed: Bool
        let input: [Int], weight: [Int]
        let stride: [Int], padding: [Int], dilation: [Int], groups: Int
        /// A transposed convolution's requested output size (FCN-style), beyond its natural one.
        var outputSize: [Int]? = nil

        var description: String {
            "\(transposed ? "transposed " : "")input \(input) weight \(weight) stride \(stride) padding \(padding) "
                + "dilation \(dilation) groups \(groups)" + (outputSize.map { " output size \($0)" } ?? "")
        }

        /// The CPU result of this convolution of `x` with `w`.
        func cpu(_ x: Tensor, _ w: Tensor) -> Tensor {
            transposed ? convTranspose2d(x, w, stride: stride, padding: padding, outputSize: outputSize, dilation: dilation,
                                         groups: groups)
                       : conv2d(x, w, stride: stride, padding: padding, dilation: dilation, groups: groups)
        }

        /// The descriptor the ops hand a device backend, for the CPU result's `outputShape`.
        func descriptor(outputShape: [Int]) -> ConvolutionDescriptor {
            ConvolutionDescriptor(isTransposed: transposed, inputShape: input, outputShape: outputShape,
                                  weightShape: weight, stride: stride, padding: padding, dilation: dilation,
                                  groups: groups)
        }
    }

    static let cases = [
        Case(transposed: false, input: [2, 3, 7, 6], weight: [4, 3, 3, 3], stride: [1, 1], padding: [1, 1],
             dilation: [1, 1], groups: 1),
        Case(transposed: false, input: [1, 4, 9, 8], weight: [6, 2, 3, 2], stride: [2, 1], padding: [1, 0],
             dilation: [1, 2], groups: 2),
        Case(transposed: true, input: [2, 4, 5, 4], weight: [4, 3, 4, 4], stride: [2, 2], padding: [1, 1],
             dilation: [1, 1], groups: 1),
        Case(transposed: true, input: [1, 4, 3, 5], weight: [4, 1, 3, 3], stride: [3, 2], padding: [0, 1],
             dilation: [1, 1], groups: 2),
        Case(transposed: true, input: [2, 4, 5, 4], weight: [4, 3, 4, 4], stride: [2, 2], padding: [1, 1],
             dilation: [1, 1], groups: 1, outputSize: [11, 9]),
    ]

    @Test func convolutionsMatchTheCPU() throws {
        guard let backend = try standInGPU(ordinal: StandInOrdinal.convolutions, "the cuDNN call check") else { return }
        for deterministic in [false, true] {
            backend.deterministic = deterministic
            defer { backend.deterministic = false }
            for (dtype, tolerance) in [(DType.float32, Float(1e-5)), (.float16, 2e-3), (.bfloat16, 1e-2)] {
                for (index, parityCase) in Self.cases.enumerated() {
                    try check(parityCase, dtype, tolerance: tolerance, seed: UInt64(index), on: backend)
                }
            }
        }
    }

    private func check(_ parityCase: Case, _ dtype: DType, tolerance: Float, seed: UInt64,
                       on backend: CUDABackend) throws {
        // Values the 16-bit type holds exactly, so both sides convolve the same numbers.
        let x = parityTensor(parityCase.input, seed: 10 + seed).to(dtype).to(.float32).requiringGrad()
        let w = parityTensor(parityCase.weight, seed: 20 + seed).to(dtype).to(.float32).requiringGrad()
        let expected = parityCase.cpu(x, w)
        let dy = parityTensor(expected.shape, seed: 30 + seed).to(dtype).to(.float32)
        expected.backward(dy)
        let descriptor = parityCase.descriptor(outputShape: expected.shape)
        let (dx, dw) = (try x.to(dtype).to(device: backend.device), try w.to(dtype).to(device: backend.device))
        let output = try backend.convolutionForward(descriptor, input: dx, weight: dw, bias: nil)
        let gradients = try backend.convolutionBackward(descriptor, gradient: dy.to(dtype).to(device: backend.device),
                                                        input: dx, weight: dw,
                                                        needed: (input: true, weight: true, bias: dtype == .float32))
        let label = "\(dtype) \(parityCase), deterministic \(backend.deterministic)"
        try expectClose(output, expected, tolerance, "\(label): output")
        try expectClose(try #require(gradients.input), try #require(x.grad), tolerance, "\(label): input gradient")
        try expectClose(try #require(gradients.weight), try #require(w.grad), tolerance, "\(label): weight gradient")
        if dtype == .float32 {
            let sums = dy.sum(axes: [0, 2, 3])
            try expectClose(try #require(gradients.bias), sums, tolerance, "\(label): bias gradient")
        }
    }

    /// Training (output, saved statistics used by the backward, running statistics updated in
    /// place), backward and evaluation of spatial batch normalisation, for NCHW and `[N, C]`
    /// input, within 1e-4 (sums over the batch run in another order).
    @Test func batchNormalisationMatchesTheCPU() throws {
        guard let backend = try standInGPU(ordinal: StandInOrdinal.batchNorm, "the cuDNN batch-norm check") else { return }
        for shape in [[4, 3, 5, 2], [6, 4]] {
            let channels = shape[1], (momentum, eps): (Float, Float) = (0.1, 1e-5)
            let x = parityTensor(shape, seed: 1).requiringGrad()
            let weight = parityTensor([channels], seed: 2, low: 0.5, high: 1.5).requiringGrad()
            let bias = parityTensor([channels], seed: 3).requiringGrad()
            let (mean, variance) = (parityTensor([channels], seed: 4), parityTensor([channels], seed: 5, low: 0.5, high: 2))
            let onDevice = try [x, weight, bias, mean, variance].map { try $0.detach().to(device: backend.device) }
            let expected = batchNorm(x, weight: weight, bias: bias, runningMean: mean, runningVar: variance,
                                     training: true, momentum: momentum, eps: eps)
            let dy = parityTensor(shape, seed: 6)
            expected.backward(dy)
            let trained = try backend.batchNormForward(input: onDevice[0], weight: onDevice[1], bias: onDevice[2],
                                                       runningMean: onDevice[3], runningVar: onDevice[4], training: true,
                                                       momentum: momentum, eps: eps)
            try expectClose(trained.output, expected, 1e-4, "\(shape) training output")
            try expectClose(onDevice[3], mean, 1e-4, "\(shape) running mean")
            try expectClose(onDevice[4], variance, 1e-4, "\(shape) running variance")
            let gradients = try backend.batchNormBackward(gradient: dy.to(device: backend.device), input: onDevice[0],
                                                          weight: onDevice[1], mean: try #require(trained.mean),
                                                          inverseStd: try #require(trained.inverseStd), eps: eps)
            try expectClose(gradients.input, try #require(x.grad), 1e-4, "\(shape) input gradient")
            try expectClose(try #require(gradients.weight), try #require(weight.grad), 1e-4, "\(shape) weight gradient")
            try expectClose(try #require(gradients.bias), try #require(bias.grad), 1e-4, "\(shape) bias gradient")
            let evaluated = try backend.batchNormForward(input: onDevice[0], weight: onDevice[1], bias: onDevice[2],
                                                         runningMean: onDevice[3], runningVar: onDevice[4], training: false,
                                                         momentum: momentum, eps: eps)
            let expectedEvaluation = batchNorm(x.detach(), weight: weight.detach(), bias: bias.detach(), runningMean: mean,
                                               runningVar: variance, training: false, momentum: momentum, eps: eps)
            try expectClose(evaluated.output, expectedEvaluation, 1e-4, "\(shape) evaluation output")
        }
    }

    /// Cross-channel LRN forward and backward, within 1e-4.
    @Test func localResponseNormalisationMatchesTheCPU() throws {
        guard let backend = try standInGPU(ordinal: StandInOrdinal.localResponseNorm, "the cuDNN LRN check") else { return }
        let (size, alpha, beta, k): (Int, Float, Float, Float) = (5, 0.02, 0.75, 2)
        let x = parityTensor([2, 7, 3, 2], seed: 1, low: -3, high: 3).requiringGrad()
        let expected = localResponseNorm(x, size: size, alpha: alpha, beta: beta, k: k)
        let dy = parityTensor([2, 7, 3, 2], seed: 2)
        expected.backward(dy)
        let input = try x.detach().to(device: backend.device)
        let output = try backend.localResponseNormForward(input: input, size: size, alpha: alpha, beta: beta, k: k)
        try expectClose(output, expected, 1e-4, "LRN output")
        let gradient = try backend.localResponseNormBackward(gradient: dy.to(device: backend.device), input: input,
                                                             output: output, size: size, alpha: alpha, beta: beta, k: k)
        try expectClose(gradient, try #require(x.grad), 1e-4, "LRN input gradient")
    }

    private func expectClose(_ device: Tensor, _ cpu: Tensor, _ tolerance: Float, _ what: String) throws {
        let got = try device.to(device: .cpu).to(.float32)
        #expect(got.shape == cpu.shape, "\(what): shape \(got.shape), the CPU's \(cpu.shape)")
        let worst = zip(got.scalars, cpu.scalars).map { Swift.abs($0 - $1) / Swift.max(1, Swift.abs($1)) }.max() ?? 0
        #expect(worst <= tolerance, "\(what): off by \(worst)")
    }
}
