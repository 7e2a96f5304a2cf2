import Foundation
import Kusari

extension CUDABackend {
    /// Softmax (or log-softmax) of float32 `input` viewed as `[outer, length, inner]`, along the
    /// middle axis, computed stably from the largest value (see ``KernelSource/softmax``):
    /// a block per row when `inner == 1`, a thread per column otherwise.
    /// - Throws: ``Kusari/KusariError`` for another dtype or device, or sizes that do not
    ///   describe `input`; ``CUDAError`` when the launch fails.
    public func softmaxForward(input: Tensor, outer: Int, length: Int, inner: Int, log: Bool) throws -> Tensor {
        try expectFloat32(input, "softmax input")
        try expectSoftmaxSizes(input, outer, length, inner)
        let x = try denseOnDevice(input, "softmax input")
        let result = try Tensor(uninitializedShape: input.shape, dtype: .float32, on: self)
        guard result.count > 0 else { return result }
        let arguments: [KernelArgument] = [.pointer(Self.address(x)), .pointer(Self.address(result))]
        try launchSoftmax("kusari_softmax", arguments, outer: outer, length: length, inner: inner, log: log)
        return result
    }

    /// The input gradient of ``softmaxForward(input:outer:length:inner:log:)`` from its `output`
    /// and the output `gradient`: `y · (g - Σ g · y)` for softmax, `g - exp(y) · Σ g` for
    /// log-softmax.
    /// - Throws: ``Kusari/KusariError`` for another dtype or device, differing shapes or sizes
    ///   that do not describe them; ``CUDAError`` when the launch fails.
    public func softmaxBackward(gradient: Tensor, output: Tensor, outer: Int, length: Int, inner: Int,
                                log: Bool) throws -> Tensor {
        try expectFloat32(gradient, "softmax gradient")
        try expectFloat32(output, "softmax output")
        guard gradient.shape == output.shape else {
            throw KusariError.shapeMismatch("softmax gradient \(gradient.shape) does not match output \(output.shape)")
        }
        try expectSoftmaxSizes(output, outer, length, inner)
        let dy = try denseOnDevice(gradient, "softmax gradient"), y = try denseOnDevice(output, "softmax output")
        let result = try Tensor(uninitializedShape: output.shape, dtype: .float32, on: self)
        guard result.count > 0 else { return result }
        let arguments: [KernelArgument] = [.pointer(Self.address(dy)), .pointer(Self.address(y)),
                                           .pointer(Self.address(result))]
        try launchSoftmax("kusari_softmax_backward", arguments, outer: outer, length: length, inner: inner, log: log)
        return result
    }

    /// Queues `<name>_rows_f32` (a block per row, when `inner == 1`) or `<name>_axis_f32` (a
    /// thread per column) with the tensors in `arguments`.
    private func launchSoftmax(_ name: String, _ arguments: [KernelArgument], outer: Int, length: Int, inner: Int,
                               log: Bool) throws {
        let takeLog = KernelArgument.int32(log ? 1 : 0)
        if inner == 1 {
            try launchRows(name + "_rows_f32", in: .softmax, rows: outer, work: length, maxThreads: 512,
                           arguments + [.count(outer), .count(length), takeLog])
        } else {
            try launch(name + "_axis_f32", in: .softmax, count: outer * inner,
                       arguments + [.count(outer), .count(length), .count(inner), takeLog])
        }
    }

    /// Throws unless `[outer, length, inner]` describes `tensor`.
    private func expectSoftmaxSizes(_ tensor: Tensor, _ outer: Int, _ length: Int, _ inner: Int) throws {
        guard outer >= 0, length >= 0, inner >= 0, outer * length * inner == tensor.count else {
            throw KusariError.shapeMismatch("softmax over [\(outer), \(length), \(inner)] of a \(tensor.shape) tensor")
        }
    }
}
