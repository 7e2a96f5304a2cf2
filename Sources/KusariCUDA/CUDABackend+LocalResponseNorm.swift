import Foundation
import Kusari

extension CUDABackend {
    /// Cross-channel LRN of NCHW float32 `input` with cuDNN, whose formula is the CPU's:
    /// `y = x / (k + alpha / size · Σ x²)^beta` over the `size` channels centred on each one.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for input that is not NCHW, an even
    ///   `size`, or values outside cuDNN's limits (`size` ≤ 16, `k` ≥ 1e-5, `beta` ≥ 0.01);
    ///   ``CUDAError`` when cuDNN fails.
    public func localResponseNormForward(input: Tensor, size: Int, alpha: Float, beta: Float, k: Float) throws -> Tensor {
        let lrn = try LRNProblem(backend: self, shape: input.shape, size: size, alpha: alpha, beta: beta, k: k)
        let x = try packedFloat32(input, "localResponseNorm input")
        let output = try Tensor(uninitializedShape: input.shape, dtype: .float32, on: self)
        guard let data = lrn.data else { return output }
        var one: Float = 1, zero: Float = 0
        let cudnn = lrn.handle.cudnn
        try cudnn.check(cudnn.cudnnLRNCrossChannelForward(lrn.handle.handle, lrn.descriptor.descriptor, CUDNN.lrnCrossChannel,
                                                          &one, data.descriptor, Self.address(x), &zero, data.descriptor,
                                                          Self.address(output)),
                        "cudnnLRNCrossChannelForward(\(input.shape), size \(size))")
        return output
    }

    /// The input gradient of ``localResponseNormForward(input:size:alpha:beta:k:)`` from its
    /// `input`, `output` and the output `gradient`, with cuDNN.
    /// - Throws: as the forward, and ``Kusari/KusariError/shapeMismatch(_:)`` when the three
    ///   tensors differ in shape.
    public func localResponseNormBackward(gradient: Tensor, input: Tensor, output: Tensor, size: Int, alpha: Float,
                                          beta: Float, k: Float) throws -> Tensor {
        guard gradient.shape == input.shape, output.shape == input.shape else {
            throw KusariError.shapeMismatch("localResponseNorm backward: gradient \(gradient.shape), input "
                                            + "\(input.shape) and output \(output.shape) differ")
        }
        let lrn = try LRNProblem(backend: self, shape: input.shape, size: size, alpha: alpha, beta: beta, k: k)
        let x = try packedFloat32(input, "localResponseNorm input")
        let y = try packedFloat32(output, "localResponseNorm output")
        let dy = try packedFloat32(gradient, "localResponseNorm gradient")
        let dx = try Tensor(uninitializedShape: input.shape, dtype: .float32, on: self)
        guard let data = lrn.data else { return dx }
        var one: Float = 1, zero: Float = 0
        let cudnn = lrn.handle.cudnn
        try cudnn.check(cudnn.cudnnLRNCrossChannelBackward(lrn.handle.handle, lrn.descriptor.descriptor,
                                                           CUDNN.lrnCrossChannel, &one, data.descriptor, Self.address(y),
                                                           data.descriptor, Self.address(dy), data.descriptor,
                                                           Self.address(x), &zero, data.descriptor, Self.address(dx)),
                        "cudnnLRNCrossChannelBackward(\(input.shape), size \(size))")
        return dx
    }
}

/// The cuDNN handle and descriptors of one LRN call.
private struct LRNProblem {
    let handle: CUDNNHandle
    let descriptor: CUDNNLRNDescriptor
    /// The dense NCHW data's descriptor, `nil` when it has no elements (cuDNN takes none).
    let data: CUDNNTensorDescriptor?

    /// Checks the call and makes its descriptors.
    init(backend: CUDABackend, shape: [Int], size: Int, alpha: Float, beta: Float, k: Float) throws {
        guard shape.count == 4 else {
            throw KusariError.invalidArgument("localResponseNorm expects NCHW input, got \(shape)")
        }
        guard size > 0 && size % 2 == 1 else {
            throw KusariError.invalidArgument("localResponseNorm size must be odd and positive, got \(size)")
        }
        try backend.context.makeCurrent()
        handle = try backend.dnn()
        descriptor = try CUDNNLRNDescriptor(handle.cudnn, size: size, alpha: alpha, beta: beta, k: k)
        data = shape.contains(0) ? nil : try CUDNNTensorDescriptor(handle.cudnn, shape: shape)
    }
}
