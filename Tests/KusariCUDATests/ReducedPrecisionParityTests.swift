import Foundation
import Testing
@testable import Kusari
@testable import KusariCUDA

/// float16 and bfloat16 on the GPU against the CPU, run where a GPU, its driver and NVRTC are
/// present (skipped with a message otherwise).
///
/// Conversions, fills and copies must match bit for bit. Convolutions and products accumulate in
/// float32 on both sides but in different orders (cuDNN and cuBLAS tile their sums, tensor cores
/// included), and the GPU rounds a convolution's output before adding the bias while the CPU
/// rounds once, so those results are compared within `2 ulp` of the reduced type at `Σ|terms|`,
/// the sum of the absolute values of the terms that make up each result (the same op on the
/// absolute values of its operands, computed in float32 on the CPU): each of the two roundings
/// moves a value by at most half an ulp of a magnitude no larger than that sum, and the float32
/// sums differ by about `k · 2⁻²⁴ · Σ|terms|` for `k` terms, far below an ulp of either
/// reduced type. float32 matmul outputs are compared within `2⁻¹⁴ · Σ|terms|`.
@Suite(.serialized)
struct ReducedPrecisionParityTests {
    static let dtypes: [DType] = [.float16, .bfloat16]

    @Test func conversionsMatchTheCPUBitForBit() throws {
        guard let gpu = GPU.orSkip("the float16/bfloat16 conversion parity test") else { return }
        try Self.checkConversions(on: gpu.backend)
    }

    @Test func fillsAndStridedCopiesKeepTheBits() throws {
        guard let gpu = GPU.orSkip("the float16/bfloat16 fill and copy test") else { return }
        try Self.checkFillsAndCopies(on: gpu.backend)
    }

    @Test(arguments: [false, true])
    func convolutionsMatchTheCPUWithinTwoUlps(_ transposed: Bool) throws {
        guard let gpu = GPU.orSkip("the reduced-precision convolution parity test") else { return }
        try Self.checkConvolution(transposed: transposed, on: gpu.backend)
    }

    @Test func convolutionRejectsMixedDTypes() throws {
        guard let gpu = GPU.orSkip("the mixed-dtype convolution test") else { return }
        let backend = gpu.backend
        let x = try Tensor.normal([1, 2, 5, 5]).to(.float16).to(device: backend.device)
        let w = try Tensor.normal([3, 2, 3, 3]).to(.bfloat16).to(device: backend.device)
        let descriptor = ConvolutionDescriptor(isTransposed: false, inputShape: [1, 2, 5, 5], outputShape: [1, 3, 3, 3],
                                               weightShape: [3, 2, 3, 3], stride: [1, 1], padding: [0, 0],
                                               dilation: [1, 1], groups: 1)
        #expect(throws: KusariError.self) { try backend.convolutionForward(descriptor, input: x, weight: w, bias: nil) }
        let integers = try Tensor.zeros([1, 2, 5, 5]).to(.int32).to(device: backend.device)
        #expect(throws: KusariError.self) {
            try backend.convolutionForward(descriptor, input: integers, weight: integers, bias: nil)
        }
    }

    @Test func gemmExMatchesTheFloat32ProductOfTheRoundedOperands() throws {
        guard let gpu = GPU.orSkip("the cublasGemmEx parity test") else { return }
        try Self.checkMatmul(on: gpu.backend)
        let backend = gpu.backend, (m, n) = (3, 4)
        let half = try Tensor.normal([m, 5]).to(.float16).to(device: backend.device)
        let brain = try Tensor.normal([5, n]).to(.bfloat16).to(device: backend.device)
        let output = try Tensor(uninitializedShape: [m, n], dtype: .float32, on: backend)
        #expect(throws: KusariError.self) { try backend.matmul(half, brain, into: output, beta: 0) }
        let narrow = try Tensor(uninitializedShape: [m, n], dtype: .float16, on: backend)
        let other = try Tensor.normal([5, n]).to(.float16).to(device: backend.device)
        #expect(throws: KusariError.self) { try backend.matmul(half, other, into: narrow, beta: 0) }
    }

    @Test func autocastConvolutionAndLinearMatchTheCPU() throws {
        guard let gpu = GPU.orSkip("the autocast parity test") else { return }
        try Self.checkAutocast(on: gpu.backend.device)
    }

    /// float32 ↔ float16 ↔ bfloat16 (and integers) on `backend` against the CPU and Swift's rounding.
    private static func checkConversions(on backend: any DeviceOperations) throws {
        var samples: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e-8, 2.9802322e-08, 5.9604645e-08,
                                6.1035156e-05, 6.097555e-05, .infinity, -.infinity, .nan, -.nan,
                                .greatestFiniteMagnitude, .leastNonzeroMagnitude, 3.3895314e38, 1.0039062,
                                1.0117188, 1 + 0x1p-11, 1 + 3 * 0x1p-11, 1 + 0x1p-8, 1 + 3 * 0x1p-8]
        samples += Tensor.normal([20_000], std: 1000, generator: Generator(seed: 3)).scalars
        samples += Tensor.normal([20_000], std: 1e-4, generator: Generator(seed: 4)).scalars
        let x = Tensor(samples, shape: [samples.count])
        let onDevice = try x.to(device: backend.device)
        for dtype in Self.dtypes {
            let narrowed = try backend.convert(onDevice, to: dtype).to(device: .cpu)
            #expect(narrowed.dtype == dtype)
            #expect(bits(narrowed) == bits(x.to(dtype)), "float32 → \(dtype)")
            let reference = dtype == .float16 ? samples.map { Float16($0).bitPattern } : samples.map(bfloat16Bits)
            #expect(bits(narrowed) == reference, "float32 → \(dtype) against Swift's rounding")
        }

        // Every 16-bit pattern widens exactly and converts to the other 16-bit type as the CPU does.
        let patterns = (0...UInt16.max).map { $0 }
        let halves = Tensor(patterns.map { Float16(bitPattern: $0) }, shape: [patterns.count])
        let brains = Tensor(patterns.map { Float(bitPattern: UInt32($0) << 16) }, shape: [patterns.count]).to(.bfloat16)
        for (source, target) in [(halves, DType.bfloat16), (brains, DType.float16)] {
            let device = try source.to(device: backend.device)
            let widened = try backend.convert(device, to: .float32).to(device: .cpu).scalars
            for (got, want) in zip(widened, source.to(.float32).scalars) {
                #expect(got.bitPattern == want.bitPattern || (got.isNaN && want.isNaN))
            }
            let crossed = try backend.convert(device, to: target).to(device: .cpu)
            #expect(bits(crossed) == bits(source.to(target)), "\(source.dtype) → \(target)")
        }

        // Integers go through float32, as on the CPU (back to integers only where finite: the CPU
        // stops on infinities).
        let integers = Tensor([-70_000, -65_520, 100_000, 65_520, -65_504, -3, 0, 7, 2049, 2051, 65_504, 65_519] as [Int32],
                              shape: [12])
        for dtype in Self.dtypes {
            let converted = try backend.convert(try integers.to(device: backend.device), to: dtype)
            let onCPU = try converted.to(device: .cpu)
            #expect(bits(onCPU) == bits(integers.to(dtype)), "int32 → \(dtype)")
            let finite = converted.slice(axis: 0, start: 4)
            let back = try backend.convert(finite, to: .int64).to(device: .cpu).toArray(of: Int64.self)
            #expect(back == onCPU.slice(axis: 0, start: 4).to(.int64).toArray(of: Int64.self), "\(dtype) → int64")
            // 2049, 2051, 65504 and 65519 rounded to nearest even.
            let rounded: [Int64] = dtype == .float16 ? [2048, 2052, 65_504, 65_504] : [2048, 2048, 65_536, 65_536]
            #expect(Array(back.suffix(4)) == rounded, "int32 → \(dtype) → int64")
        }
    }

    /// Fills and strided copies of 16-bit tensors on `backend`, bit for bit.
    private static func checkFillsAndCopies(on backend: any DeviceOperations) throws {
        for dtype in Self.dtypes {
            let filled = try Tensor(uninitializedShape: [5, 7], dtype: dtype, on: backend)
            for value: Float in [1.0 / 3, -2.5e-6, 70_000] {
                try backend.fill(filled, with: value)
                let expected = dtype == .float16 ? Float16(value).bitPattern : bfloat16Bits(value)
                let onCPU = try filled.to(device: .cpu)
                #expect(bits(onCPU) == Array(repeating: expected, count: 35), "fill \(value) as \(dtype)")
            }

            let x = Tensor.normal([6, 9, 4], generator: Generator(seed: 21)).to(dtype)
            let onDevice = try x.to(device: backend.device)
            let permuted = try onDevice.transpose(0, 2).contiguous().to(device: .cpu)
            #expect(bits(permuted) == bits(x.transpose(0, 2).contiguous()), "strided copy of \(dtype)")
        }
    }

    /// A (transposed) convolution's forward and backward in both 16-bit dtypes on `backend`
    /// against float32 on the rounded operands.
    private static func checkConvolution(transposed: Bool, on backend: any DeviceOperations) throws {
        let (stride, padding) = ([2, 2], [1, 1])
        let generator = Generator(seed: transposed ? 31 : 30)
        let input = Tensor.normal([2, 8, 9, 9], generator: generator)
        let weight = Tensor.normal(transposed ? [8, 16, 3, 3] : [16, 8, 3, 3], std: 0.5, generator: generator)
        let bias = Tensor.normal([16], generator: generator)
        func convolve(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> Tensor {
            transposed ? convTranspose2d(x, w, bias: b, stride: stride, padding: padding)
                       : conv2d(x, w, bias: b, stride: stride, padding: padding)
        }
        let outputShape = convolve(input, weight, nil).shape
        let descriptor = ConvolutionDescriptor(isTransposed: transposed, inputShape: input.shape, outputShape: outputShape,
                                               weightShape: weight.shape, stride: stride, padding: padding,
                                               dilation: [1, 1], groups: 1)
        let seed = Tensor.normal(outputShape, generator: generator)

        for dtype in Self.dtypes {
            let (x, w, b, dy) = (input.to(dtype), weight.to(dtype), bias.to(dtype), seed.to(dtype))
            let onDevice = try [x, w, b, dy].map { try $0.to(device: backend.device) }
            let output = try backend.convolutionForward(descriptor, input: onDevice[0], weight: onDevice[1],
                                                        bias: onDevice[2])
            #expect(output.dtype == dtype)
            // float32 on the rounded operands: exact products, float32 sums.
            let reference = convolve(x.to(.float32), w.to(.float32), b.to(.float32))
            let bound = convolve(x.to(.float32).abs(), w.to(.float32).abs(), b.to(.float32).abs())
            expectClose(try output.to(device: .cpu), reference, bound, dtype, "\(dtype) forward")

            let gradients = try backend.convolutionBackward(descriptor, gradient: onDevice[3], input: onDevice[0],
                                                            weight: onDevice[1], needed: (true, true, true))
            let expected = gradientsOf(convolve, x.to(.float32), w.to(.float32), b.to(.float32), seed: dy.to(.float32))
            let bounds = gradientsOf(convolve, x.to(.float32).abs(), w.to(.float32).abs(), b.to(.float32).abs(),
                                     seed: dy.to(.float32).abs())
            for (name, got, want, limit) in [("input", gradients.input, expected[0], bounds[0]),
                                             ("weight", gradients.weight, expected[1], bounds[1]),
                                             ("bias", gradients.bias, expected[2], bounds[2])] {
                let result = try #require(got, "\(name) gradient")
                #expect(result.dtype == dtype)
                expectClose(try result.to(device: .cpu), want, limit, dtype, "\(dtype) \(name) gradient")
            }
        }
    }

    /// 16-bit products into float32 (with `beta`, `b` a transposed view) on `backend` against
    /// float32 on the rounded operands.
    private static func checkMatmul(on backend: any DeviceOperations) throws {
        let (m, k, n) = (37, 70, 29)
        let generator = Generator(seed: 40)
        let a = Tensor.normal([m, k], generator: generator)
        let bT = Tensor.normal([n, k], generator: generator)
        for dtype in Self.dtypes {
            let (ra, rb) = (a.to(dtype), bT.to(dtype))
            let left = try ra.to(device: backend.device)
            // b as a transposed row-major view (unit row stride), as linear passes its weight.
            let right = try rb.to(device: backend.device).transpose()
            let output = try Tensor(uninitializedShape: [m, n], dtype: .float32, on: backend)
            try backend.fill(output, with: 1)
            try backend.matmul(left, right, into: output, beta: 0.5)
            let wide = (ra.to(.float32), rb.to(.float32).transpose())
            let reference = wide.0.matmul(wide.1) + 0.5
            let bound = wide.0.abs().matmul(wide.1.abs()) + 0.5
            let got = try output.to(device: .cpu).scalars
            for (index, (value, want)) in zip(got, reference.scalars).enumerated() {
                #expect(Swift.abs(value - want) <= 0x1p-14 * bound.scalars[index], "\(dtype) element \(index)")
            }
        }
    }

    /// Autocast conv2d and linear, forward and backward, on `device` against the CPU.
    private static func checkAutocast(on device: Device) throws {
        let generator = Generator(seed: 50)
        let image = Tensor.normal([4, 8, 10, 10], generator: generator)
        let kernel = Tensor.normal([16, 8, 3, 3], std: 0.3, generator: generator)
        let shift = Tensor.normal([16], generator: generator)
        let features = Tensor.normal([12, 40], generator: generator)
        let matrix = Tensor.normal([24, 40], std: 0.3, generator: generator)
        let offset = Tensor.normal([24], generator: generator)
        let layers: [(String, [Tensor], ([Tensor]) -> Tensor)] = [
            ("conv2d", [image, kernel, shift], { conv2d($0[0], $0[1], bias: $0[2], padding: [1, 1]) }),
            ("linear", [features, matrix, offset], { linear($0[0], $0[1], bias: $0[2]) }),
        ]
        for dtype in Self.dtypes {
            for (name, operands, layer) in layers {
                let seed = Tensor.normal(layer(operands).shape, generator: generator)
                let cpu = operands.map { $0.detach().requiringGrad() }
                let cpuOutput = Autocast.run(dtype) { layer(cpu) }
                cpuOutput.backward(seed)
                let onDevice = try operands.map { try $0.to(device: device).requiringGrad() }
                let deviceOutput = Autocast.run(dtype) { layer(onDevice) }
                #expect(deviceOutput.dtype == .float32 && deviceOutput.device == device)
                deviceOutput.backward(try seed.to(device: device))

                // Σ|terms| of every result: the float32 layer on absolute values, seeded with |seed|.
                let absolute = operands.map { $0.abs().detach().requiringGrad() }
                let bound = layer(absolute)
                bound.backward(seed.abs())
                expectClose(try deviceOutput.to(device: .cpu), cpuOutput, bound, dtype, "autocast \(name) \(dtype)")
                for index in operands.indices {
                    let got = try #require(onDevice[index].grad), want = try #require(cpu[index].grad)
                    let limit = try #require(absolute[index].grad)
                    #expect(got.dtype == .float32)
                    expectClose(try got.to(device: .cpu), want, limit, dtype, "autocast \(name) \(dtype) gradient \(index)")
                }
            }
        }
    }
}

/// The raw 16-bit patterns of the float16 or bfloat16 CPU tensor `tensor`.
private func bits(_ tensor: Tensor) -> [UInt16] {
    tensor.dtype == .float16 ? tensor.toArray(of: Float16.self).map(\.bitPattern)
                             : tensor.scalars.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
}

/// The spacing of `dtype`'s values (float16 or bfloat16) at the magnitude of `value`.
private func ulp(_ value: Float, _ dtype: DType) -> Float {
    let (fractionBits, minimumExponent) = dtype == .float16 ? (10, -14) : (7, -126)
    let magnitude = Swift.abs(value)
    let exponent = magnitude.isNormal ? Swift.max(Int(magnitude.exponent), minimumExponent) : minimumExponent
    return Float(sign: .plus, exponent: exponent - fractionBits, significand: 1)
}

/// Expects every element of `got` within `2 ulp` of `dtype` at `bound` (`Σ|terms|`) of `want`.
private func expectClose(_ got: Tensor, _ want: Tensor, _ bound: Tensor, _ dtype: DType, _ what: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    guard got.shape == want.shape, want.shape == bound.shape, want.count > 0 else {
        Issue.record("\(what): shapes \(got.shape), \(want.shape) and \(bound.shape)", sourceLocation: sourceLocation)
        return
    }
    let (values, expected, bounds) = (got.to(.float32).scalars, want.to(.float32).scalars, bound.scalars)
    var worst = 0, worstRatio: Float = 0
    for index in expected.indices {
        let ratio = Swift.abs(values[index] - expected[index]) / (2 * ulp(bounds[index], dtype))
        if ratio.isNaN || ratio > worstRatio { (worst, worstRatio) = (index, ratio.isNaN ? .infinity : ratio) }
    }
    let limit = 2 * ulp(bounds[worst], dtype)
    #expect(worstRatio <= 1, "\(what): element \(worst) is \(values[worst]), expected \(expected[worst]) ± \(limit)",
            sourceLocation: sourceLocation)
}

/// The input, weight and bias gradients of `convolve` at `x`, `w`, `b` for the output gradient
/// `seed`, by float32 autodiff on the CPU.
private func gradientsOf(_ convolve: (Tensor, Tensor, Tensor?) -> Tensor, _ x: Tensor, _ w: Tensor, _ b: Tensor,
                         seed: Tensor) -> [Tensor] {
    let operands = [x, w, b].map { $0.detach().requiringGrad() }
    convolve(operands[0], operands[1], operands[2]).backward(seed)
    return operands.map { $0.grad ?? Tensor.zeros($0.shape) }
}
