import Foundation
import Kusari
import KusariTestSupport
import Testing

/// The emulated GPU the autocast tests use, registered once as an unusual ordinal.
private let emulated = EmulatedDevice.install(ordinal: 11)

/// `x` rounded to `dtype` and widened back to float32, detached.
private func rounded(_ x: Tensor, _ dtype: DType) -> Tensor { x.detach().to(dtype).to(.float32) }

/// Deterministic values in [-1, 1) with six decimals (none of them exact in float16 or bfloat16).
private func sample(_ shape: [Int], seed: UInt64) -> Tensor {
    var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    let values = (0..<shape.reduce(1, *)).map { _ -> Float in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state >> 11) % 1_000_000) / 1_000_000
    }
    return Tensor(values, shape: shape)
}

/// The largest element-wise difference relative to the largest magnitude of `expected`.
private func relativeDifference(_ actual: Tensor, _ expected: Tensor) -> Float {
    let (a, e) = (actual.scalars, expected.scalars)
    let scale = Swift.max(e.map { Swift.abs($0) }.max() ?? 0, .leastNormalMagnitude)
    return (zip(a, e).map { Swift.abs($0 - $1) }.max() ?? 0) / scale
}

private func expectClose(_ actual: Tensor?, _ expected: Tensor?, _ what: String, tolerance: Float = 1e-6,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual, let expected else {
        Issue.record("\(what): missing (\(actual == nil ? "actual" : "expected"))", sourceLocation: sourceLocation)
        return
    }
    #expect(actual.shape == expected.shape && actual.dtype == expected.dtype,
            "\(what): \(actual.shape) \(actual.dtype) vs \(expected.shape) \(expected.dtype)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let difference = relativeDifference(actual, expected)
    #expect(difference <= tolerance, "\(what): relative difference \(difference)", sourceLocation: sourceLocation)
}

/// One op autocast applies to, with what its reference computes in float32.
struct AutocastCase: CustomTestStringConvertible, Sendable {
    let name: String
    let shapes: [[Int]]
    /// Whether the op rounds its output (and its gradients) to the autocast dtype (convolutions).
    let roundsResults: Bool
    /// The index of an input that autocast leaves in float32 (linear's bias), if any.
    let float32Input: Int?
    let op: @Sendable ([Tensor]) -> Tensor

    var testDescription: String { name }

    static let all: [AutocastCase] = [
        AutocastCase(name: "conv2d", shapes: [[2, 3, 7, 6], [4, 3, 3, 3], [4]], roundsResults: true, float32Input: nil) {
            conv2d($0[0], $0[1], bias: $0[2], stride: [2, 1], padding: [1, 1])
        },
        AutocastCase(name: "conv2d groups", shapes: [[1, 4, 5, 5], [6, 2, 3, 3]], roundsResults: true, float32Input: nil) {
            conv2d($0[0], $0[1], padding: [1, 1], dilation: [1, 2], groups: 2)
        },
        AutocastCase(name: "convTranspose2d", shapes: [[2, 4, 5, 5], [4, 3, 3, 3], [3]], roundsResults: true,
                     float32Input: nil) {
            convTranspose2d($0[0], $0[1], bias: $0[2], stride: [2, 2], padding: [1, 1])
        },
        AutocastCase(name: "linear", shapes: [[2, 3, 5], [4, 5], [4]], roundsResults: false, float32Input: 2) {
            linear($0[0], $0[1], bias: $0[2])
        },
        AutocastCase(name: "matmul 2-d", shapes: [[3, 5], [5, 4]], roundsResults: false, float32Input: nil) {
            $0[0].matmul($0[1])
        },
        AutocastCase(name: "matmul transposed", shapes: [[5, 3], [4, 5]], roundsResults: false, float32Input: nil) {
            $0[0].transpose().matmul($0[1].transpose())
        },
        AutocastCase(name: "matmul batched", shapes: [[2, 3, 5], [2, 5, 4]], roundsResults: false, float32Input: nil) {
            $0[0].matmul($0[1])
        },
        AutocastCase(name: "matmul broadcast", shapes: [[2, 3, 5], [5, 4]], roundsResults: false, float32Input: nil) {
            $0[0].matmul($0[1])
        },
    ]

    /// The inputs (float32, seeded by position) and the output gradient.
    func inputs() -> (inputs: [Tensor], gradient: Tensor) {
        let inputs = shapes.enumerated().map { sample($0.element, seed: UInt64(31 + $0.offset)) }
        let shape = Autocast.run(nil) { op(inputs) }.shape
        return (inputs, sample(shape, seed: 97))
    }
}

/// The output and input gradients of `testCase` under autocast to `dtype`, with `inputs` moved
/// to `device`; results back in host memory.
private func autocastRun(_ testCase: AutocastCase, _ dtype: DType, on device: Device = .cpu) throws -> [Tensor?] {
    let (inputs, gradient) = testCase.inputs()
    let leaves = try inputs.map { try $0.to(device: device).requiringGrad() }
    let output = Autocast.run(dtype) { testCase.op(leaves) }
    #expect(output.dtype == .float32 && output.device == device)
    (output * (try gradient.to(device: device))).sum().backward()
    return try ([output.detach()] + leaves.map(\.grad)).map { try $0?.to(device: .cpu) }
}

@Suite("Autocast")
struct AutocastTests {
    @Test func dtypeIsPerThreadAndNests() throws {
        #expect(Autocast.dtype == nil)
        Autocast.run(.float16) {
            #expect(Autocast.dtype == .float16)
            Autocast.run(.bfloat16) {
                #expect(Autocast.dtype == .bfloat16)
                Autocast.run(nil) { #expect(Autocast.dtype == nil) }
                #expect(Autocast.dtype == .bfloat16)
            }
            #expect(Autocast.dtype == .float16)
            final class Seen: @unchecked Sendable { var dtype: DType? = .float32 }
            let seen = Seen(), done = DispatchSemaphore(value: 0)
            Thread {
                seen.dtype = Autocast.dtype
                done.signal()
            }.start()
            done.wait()
            #expect(seen.dtype == nil)
        }
        #expect(Autocast.dtype == nil)
        struct Failure: Error {}
        #expect(throws: Failure.self) { try Autocast.run(.bfloat16) { () throws -> Int in throw Failure() } }
        #expect(Autocast.dtype == nil)
        #expect(Autocast.run(.float16) { 42 } == 42)
    }

    @Test func onlyReducedDtypesAreAccepted() async {
        await #expect(processExitsWith: .failure) {
            Autocast.run(.float32) {}
        }
    }

    @Test(arguments: AutocastCase.all, [DType.float16, .bfloat16])
    func matchesFloat32OnRoundedValues(_ testCase: AutocastCase, _ dtype: DType) throws {
        let results = try autocastRun(testCase, dtype)
        let (inputs, gradient) = testCase.inputs()
        let leaves = inputs.enumerated().map { index, input in
            (index == testCase.float32Input ? input : rounded(input, dtype)).requiringGrad()
        }
        let reference = testCase.op(leaves)
        reference.backward(rounded(gradient, dtype))
        let finish = { (tensor: Tensor) in testCase.roundsResults ? rounded(tensor, dtype) : tensor }
        expectClose(results[0], finish(reference.detach()), "\(testCase.name) output")
        for (index, leaf) in leaves.enumerated() {
            var expected = leaf.grad.map(finish)
            if index == testCase.float32Input {
                // Linear's bias gradient is the sum of the unrounded float32 output gradient.
                expected = gradient.reshape([-1, leaf.count]).sum(axis: 0)
            }
            expectClose(results[index + 1], expected, "\(testCase.name) gradient \(index)")
        }
        // The rounding shows: the plain float32 op differs.
        let plain = testCase.op(inputs)
        #expect(relativeDifference(plain, try #require(results[0])) > 1e-5)
    }

    @Test(arguments: AutocastCase.all, [DType.float16, .bfloat16])
    func emulatedDeviceMatchesTheCPU(_ testCase: AutocastCase, _ dtype: DType) throws {
        let before = emulated.calls
        let device = try autocastRun(testCase, dtype, on: emulated.device)
        let host = try autocastRun(testCase, dtype)
        for (index, (actual, expected)) in zip(device, host).enumerated() {
            expectClose(actual, expected, "\(testCase.name) result \(index)")
        }
        let after = emulated.calls
        let method = testCase.name.hasPrefix("conv") ? "convolutionForward" : "matmul"
        for method in [method, "convert"] {
            #expect(after[method, default: 0] > before[method, default: 0], "\(method) did not run on the device")
        }
    }

    @Test func nothingChangesOutsideAutocast() {
        let x = sample([1, 2, 5, 5], seed: 3), w = sample([3, 2, 3, 3], seed: 4)
        let plain = conv2d(x, w)
        let disabled = Autocast.run(.float16) { Autocast.run(nil) { conv2d(x, w) } }
        #expect(disabled.scalars == plain.scalars)
        let autocast = Autocast.run(.float16) { conv2d(x, w) }
        #expect(relativeDifference(autocast, plain) > 1e-5)
        let a = sample([4, 6], seed: 5), b = sample([6, 2], seed: 6)
        #expect(Autocast.run(.bfloat16) { Autocast.run(nil) { a.matmul(b) } }.scalars == a.matmul(b).scalars)
        // Ops autocast does not cover keep float32.
        #expect(Autocast.run(.float16) { relu(x) + x }.scalars == (relu(x) + x).scalars)
    }

    @Test func reducedOperandsConvolveInTheirDtype() {
        let x = sample([1, 2, 4, 4], seed: 7).to(.float16), w = sample([2, 2, 3, 3], seed: 8).to(.float16)
        let output = Autocast.run(.bfloat16) { conv2d(x, w, padding: [1, 1]) }
        #expect(output.dtype == .float16)
        let expected = conv2d(x.to(.float32), w.to(.float32), padding: [1, 1]).to(.float16)
        #expect(output.scalars == expected.scalars)
    }

    @Test func mixedConvolutionDtypesStopWithAClearMessage() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = conv2d(Tensor.zeros([1, 1, 3, 3], dtype: .float16), Tensor.zeros([1, 1, 1, 1]))
        }
        let output = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
        #expect(output.contains("convolution needs input, weight and bias of one float dtype"), "\(output)")
    }
}
