import Foundation
@testable import Kusari
import KusariTestSupport
import Testing
@testable import KusariCUDA

/// Every kernel launch of the CUDA backend checked against the kernel NVRTC compiled, on a
/// machine without a GPU.
///
/// A ``CUDABackend`` on the CPU stand-ins (``standInGPU(ordinal:_:)``) runs the op catalogue's
/// cases (forward and backward), every dtype and operation variant and the fused optimizer
/// steps: NVRTC compiles the real kernel sources to PTX, and each launch's arguments are compared
/// with the parameters PTX declares for that kernel (a launch that does not fit stops the run with
/// the kernel's name and the first argument that differs). The kernels do not run here, so no
/// value is checked (`EmulatedOpParityTests` does that on the CPU, `OpParityTests` on a GPU).
/// Needs NVRTC: skipped with a message without it, failed with `KUSARI_REQUIRE_NVRTC`.
@Suite(.serialized)
struct KernelLaunchTests {
    @Test func everyLaunchFitsItsKernel() throws {
        guard let backend = try standInGPU(ordinal: StandInOrdinal.kernelLaunches, "the kernel launch check") else { return }

        var ran: [String] = []
        for parityCase in OpParityCatalogue.all {
            let leaves = try parityCase.inputs.map { try $0.to(device: backend.device).requiringGrad($0.dtype == .float32) }
            let result = try parityCase.op(OpParityContext(inputs: leaves, device: backend.device))
            if result.requiresGrad { result.backward(Tensor.full(result.shape, 1, on: backend.device)) }
            ran.append(parityCase.name)
        }
        try runEveryDTypeAndOperation(on: backend)
        try runFusedOptimizerSteps(on: backend)

        let launched = Set(RecordingDriver.launches)
        let kernels = Set(KernelSource.all.flatMap(\.functions))
        let missing = kernels.subtracting(launched)
        #expect(missing.isEmpty, "kernels never launched, so their call sites are unchecked: \(missing.sorted())")
        #expect(launched.isSubset(of: kernels))

        // What a cubin's launches are checked against: the sizes cuFuncGetParamInfo reports.
        let fill = try backend.kernel("kusari_fill_f32", in: .elementwise)
        #expect(backend.context.driver.parameterSizes(of: fill.function)
                == fill.parameters?.map { KernelParameter(.unknown, size: $0.size) })
        print("PASSED: \(RecordingDriver.launches.count) launches of \(launched.count) of \(kernels.count) kernels "
              + "fit their PTX parameters (\(ran.count) catalogue cases, fused optimizer steps)")
    }

    /// The dtype- and operation-specific kernels the catalogue does not reach: fills, strided
    /// copies and conversions of every dtype, every unary and binary operation (contiguous and
    /// broadcasting), the deterministic scatter-add, the bias of 16-bit convolutions and the
    /// running statistics of a one-sample batch normalisation.
    private func runEveryDTypeAndOperation(on backend: CUDABackend) throws {
        let device = backend.device
        let dtypes: [DType] = [.float32, .int32, .int64, .uint8, .float16, .bfloat16]
        for dtype in dtypes {
            let filled = Tensor.zeros([5, 3], dtype: dtype, on: device)
            try backend.copy(Tensor.zeros([3, 5], dtype: dtype, on: device).transpose(), into: filled)
            for target in dtypes where target != dtype {
                _ = try backend.convert(filled, to: target)
            }
        }
        let matrix = Tensor.ones([4, 6], on: device), row = Tensor.ones([1, 6], on: device)
        for operation in UnaryOperation.allCases {
            _ = try backend.unary(operation, matrix)
        }
        for operation in BinaryOperation.allCases {
            _ = try backend.binary(operation, matrix, matrix, shape: [4, 6])
            _ = try backend.binary(operation, matrix, row, shape: [4, 6])
        }
        // Uploaded, not filled on the device: the stand-in runs no kernel, and the sorted
        // scatter-add reads its indices on the host.
        let indices = try Tensor.zeros([4], dtype: .int64).to(device: device)
        _ = try backend.scatterAddRows(matrix, indices: indices, rows: 3, deterministic: true)

        let convolution = ConvolutionDescriptor(isTransposed: false, inputShape: [1, 2, 4, 4], outputShape: [1, 3, 4, 4],
                                                weightShape: [3, 2, 3, 3], stride: [1, 1], padding: [1, 1],
                                                dilation: [1, 1], groups: 1)
        for dtype in [DType.float16, .bfloat16] {
            let input = Tensor.zeros([1, 2, 4, 4], dtype: dtype, on: device)
            let weight = Tensor.zeros([3, 2, 3, 3], dtype: dtype, on: device)
            let output = try backend.convolutionForward(convolution, input: input, weight: weight,
                                                        bias: Tensor.zeros([3], dtype: dtype, on: device))
            _ = try backend.convolutionBackward(convolution, gradient: output, input: input, weight: weight,
                                                needed: (input: false, weight: false, bias: true))
        }
        let statistics = (Tensor.zeros([3], on: device), Tensor.ones([3], on: device))
        _ = try backend.batchNormForward(input: Tensor.ones([1, 3], on: device), weight: nil, bias: nil,
                                         runningMean: statistics.0, runningVar: statistics.1, training: true,
                                         momentum: 0.1, eps: 1e-5)
    }

    /// One step of each fused optimizer rule on a small parameter, and a finite check.
    private func runFusedOptimizerSteps(on backend: CUDABackend) throws {
        let rules: [FusedOptimizerRule] = [
            .sgd(learningRate: 0.1, scale: 1, decay: 0.01),
            .momentum(learningRate: 0.1, scale: 1, decay: 0, momentum: 0.9, nesterov: true),
            .adam(scale: 1, decay: 0, shrink: 0.999, beta1: 0.9, beta2: 0.999, stepSize: 0.01,
                  inverseRootCorrection2: 1, eps: 1e-8),
        ]
        for rule in rules {
            let parameter = try Tensor.ones([33]).to(device: backend.device)
            let gradient = try Tensor.ones([33]).to(device: backend.device)
            let state = try (0..<rule.stateCount).map { _ in try Tensor.zeros([33]).to(device: backend.device) }
            try backend.optimizerStep(rule, parameter: parameter, gradient: gradient, state: state)
            _ = try backend.nonFiniteFlag([parameter, gradient])
        }
    }

    @Test func mismatchesNameTheFirstArgumentThatDiffers() throws {
        let parameters = KernelParameter.signatures(ofPTX: """
            .visible .entry kusari_example(
            \t.param .u64 kusari_example_param_0,
            \t.param .u32 kusari_example_param_1,
            \t.param .f32 kusari_example_param_2,
            \t.param .align 8 .b8 kusari_example_param_3[144]
            )
            {
            }
            """)["kusari_example"]
        let declared = try #require(parameters)
        #expect(declared == [KernelParameter(.integer, size: 8), KernelParameter(.integer, size: 4),
                             KernelParameter(.floatingPoint, size: 4), KernelParameter(.bytes, size: 144)])
        let layout: KernelArgument = .int64s(Array(repeating: 0, count: 18))
        #expect(KernelParameter.mismatch([.pointer(1), .int32(2), .float(3), layout], declared) == nil)
        #expect(KernelParameter.mismatch([.pointer(1), .count(2), .float(3), layout], declared)
                == "argument 1 is int64, the kernel's parameter 1 is int32")
        #expect(KernelParameter.mismatch([.pointer(1), .int32(2), .int32(3), layout], declared)
                == "argument 2 is int32, the kernel's parameter 2 is float32")
        #expect(KernelParameter.mismatch([.pointer(1), .int32(2), .float(3)], declared)
                == "3 arguments for 4 parameters (int64, int32, float32, 144-byte struct)")
        // Sizes from cuFuncGetParamInfo (a cubin) accept any argument of the right size.
        #expect(KernelParameter.mismatch([.float(1)], [KernelParameter(.unknown, size: 4)]) == nil)
        #expect(KernelParameter.mismatch([.count(1)], [KernelParameter(.unknown, size: 4)]) != nil)
    }
}
