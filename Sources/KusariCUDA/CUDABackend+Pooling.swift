import Foundation
import Kusari

extension CUDABackend {
    /// Max or average pooling of the NCHW float32 `input` with the project's kernels (cuDNN
    /// cannot express ceil mode's end padding): a max window propagates NaN, an average divides
    /// by the window's area clipped to the padded input when padding counts, else by the number
    /// of input elements in the window.
    /// - Throws: ``Kusari/KusariError`` when `input` does not match the descriptor.
    public func poolingForward(_ pooling: PoolingDescriptor, input: Tensor) throws -> Tensor {
        let geometry = try PoolingGeometry(pooling)
        try PoolingGeometry.expect(input, pooling.inputShape, "pooling input")
        let x = try packedFloat32(input, "pooling input")
        let output = try Tensor(uninitializedShape: pooling.outputShape, dtype: .float32, on: self)
        guard output.count > 0 else { return output }
        switch pooling.kind {
        case .max:
            try context.launch(kernel("kusari_max_pool_forward_f32", in: .pooling), count: output.count,
                               arguments: [.pointer(Self.address(x)), .pointer(Self.address(output)), .null,
                                           geometry.argument])
        case .average:
            try context.launch(kernel("kusari_avg_pool_forward_f32", in: .pooling), count: output.count,
                               arguments: [.pointer(Self.address(x)), .pointer(Self.address(output)),
                                           geometry.argument, .int32(pooling.countIncludesPadding ? 1 : 0)])
        }
        return output
    }

    /// The input gradient of ``poolingForward(_:input:)``, computed per input element (so
    /// deterministic): a max window's gradient goes to its first maximum (its first NaN), found
    /// again from `input` exactly as the forward found it; an average spreads it evenly over the
    /// window's input elements with the forward's divisor.
    /// - Throws: ``Kusari/KusariError`` when a shape does not match the descriptor.
    public func poolingBackward(_ pooling: PoolingDescriptor, gradient: Tensor, input: Tensor,
                                output: Tensor) throws -> Tensor {
        let geometry = try PoolingGeometry(pooling)
        try PoolingGeometry.expect(gradient, pooling.outputShape, "pooling output gradient")
        try PoolingGeometry.expect(input, pooling.inputShape, "pooling input")
        try PoolingGeometry.expect(output, pooling.outputShape, "pooling output")
        let dy = try packedFloat32(gradient, "pooling output gradient")
        let dx = try Tensor(uninitializedShape: pooling.inputShape, dtype: .float32, on: self)
        guard dx.count > 0 else { return dx }
        switch pooling.kind {
        case .max:
            let x = try packedFloat32(input, "pooling input")
            let index = try Tensor(uninitializedShape: pooling.outputShape, dtype: .int64, on: self)
            if index.count > 0 {
                try context.launch(kernel("kusari_max_pool_forward_f32", in: .pooling), count: index.count,
                                   arguments: [.pointer(Self.address(x)), .null, .pointer(Self.address(index)),
                                               geometry.argument])
            }
            try context.launch(kernel("kusari_max_pool_backward_f32", in: .pooling), count: dx.count,
                               arguments: [.pointer(Self.address(dy)), .pointer(Self.address(index)),
                                           .pointer(Self.address(dx)), geometry.argument])
        case .average:
            try context.launch(kernel("kusari_avg_pool_backward_f32", in: .pooling), count: dx.count,
                               arguments: [.pointer(Self.address(dy)), .pointer(Self.address(dx)), geometry.argument,
                                           .int32(pooling.countIncludesPadding ? 1 : 0)])
        }
        return dx
    }
}

/// The pooling kernels' `PoolGeometry` argument, checked against its descriptor.
private struct PoolingGeometry {
    /// The struct's fields in order: planes, height, width, output height and width, kernel,
    /// stride and padding (`h`, `w` each).
    let fields: [Int64]

    /// The geometry of `pooling`.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for shapes that are not NCHW with
    ///   the same `N` and `C`, or a window that is not positive sizes and strides with
    ///   non-negative padding.
    init(_ pooling: PoolingDescriptor) throws {
        let (input, output) = (pooling.inputShape, pooling.outputShape)
        guard input.count == 4, output.count == 4, input[0] == output[0], input[1] == output[1],
              (input + output).allSatisfy({ $0 >= 0 }) else {
            throw KusariError.invalidArgument("pooling needs NCHW input and output with the same N and C, got "
                                              + "\(input) → \(output)")
        }
        let (kernel, stride, padding) = (pooling.kernel, pooling.stride, pooling.padding)
        guard kernel.count == 2, stride.count == 2, padding.count == 2, kernel.allSatisfy({ $0 > 0 }),
              stride.allSatisfy({ $0 > 0 }), padding.allSatisfy({ $0 >= 0 }) else {
            throw KusariError.invalidArgument("pooling needs a positive 2-d kernel and stride and non-negative "
                                              + "padding, got kernel \(kernel), stride \(stride), padding \(padding)")
        }
        fields = ([input[0] * input[1], input[2], input[3], output[2], output[3]] + kernel + stride + padding)
            .map(Int64.init)
    }

    /// The launch argument.
    var argument: KernelArgument { .int64s(fields) }

    /// Throws unless `tensor` has `shape`.
    static func expect(_ tensor: Tensor, _ shape: [Int], _ role: String) throws {
        guard tensor.shape == shape else {
            throw KusariError.shapeMismatch("\(role) is \(tensor.shape), the pooling descriptor says \(shape)")
        }
    }
}
