import Foundation
import Kusari

/// A cuDNN tensor descriptor, destroyed with the object.
final class CUDNNTensorDescriptor {
    let cudnn: CUDNN
    /// The `cudnnTensorDescriptor_t`.
    let descriptor: CUDNN.Descriptor

    /// A descriptor of dense row-major `dataType` data of `shape` (rank 3 to 8; cuDNN takes no
    /// lower ranks).
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` when a size does not fit cuDNN's
    ///   32-bit fields, ``CUDAError`` when cuDNN rejects the descriptor.
    init(_ cudnn: CUDNN, shape: [Int], dataType: CUDNN.DataType = .float32) throws {
        let dimensions = try cudnnInt32s(shape, "tensor shape")
        let steps = try cudnnInt32s(packedStrides(shape), "tensor strides")
        var descriptor: CUDNN.Descriptor?
        try cudnn.check(cudnn.cudnnCreateTensorDescriptor(&descriptor), "cudnnCreateTensorDescriptor")
        guard let descriptor else { throw CUDAError.noDevice("cudnnCreateTensorDescriptor returned nothing") }
        self.cudnn = cudnn
        self.descriptor = descriptor
        try cudnn.check(cudnn.cudnnSetTensorNdDescriptor(descriptor, dataType.rawValue, Int32(dimensions.count),
                                                         dimensions, steps),
                        "cudnnSetTensorNdDescriptor(\(shape), data type \(dataType))")
    }

    deinit { _ = cudnn.cudnnDestroyTensorDescriptor(descriptor) }
}

/// A cuDNN filter descriptor for `[K, C, kh, kw]` weights in NCHW order.
final class CUDNNFilterDescriptor {
    let cudnn: CUDNN
    /// The `cudnnFilterDescriptor_t`.
    let descriptor: CUDNN.Descriptor

    /// A descriptor of the packed `dataType` filter `shape`, `[K, C / groups, kh, kw]`.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for sizes beyond 32 bits,
    ///   ``CUDAError`` when cuDNN rejects the descriptor.
    init(_ cudnn: CUDNN, shape: [Int], dataType: CUDNN.DataType = .float32) throws {
        let dimensions = try cudnnInt32s(shape, "filter shape")
        var descriptor: CUDNN.Descriptor?
        try cudnn.check(cudnn.cudnnCreateFilterDescriptor(&descriptor), "cudnnCreateFilterDescriptor")
        guard let descriptor else { throw CUDAError.noDevice("cudnnCreateFilterDescriptor returned nothing") }
        self.cudnn = cudnn
        self.descriptor = descriptor
        try cudnn.check(cudnn.cudnnSetFilterNdDescriptor(descriptor, dataType.rawValue, CUDNN.TensorFormat.nchw.rawValue,
                                                         Int32(dimensions.count), dimensions),
                        "cudnnSetFilterNdDescriptor(\(shape), data type \(dataType))")
    }

    deinit { _ = cudnn.cudnnDestroyFilterDescriptor(descriptor) }
}

/// A cuDNN 2-d cross-correlation descriptor computing in float32, whatever the data type (for
/// float16 and bfloat16 data, cuDNN's pseudo-half configurations: 16-bit storage, float32
/// arithmetic).
final class CUDNNConvolutionDescriptor {
    let cudnn: CUDNN
    /// The `cudnnConvolutionDescriptor_t`.
    let descriptor: CUDNN.Descriptor

    /// A descriptor with the same `padding` on both sides of each axis, `stride`, `dilation`
    /// (`[h, w]` each) and `groups`, using `mathType`.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for sizes beyond 32 bits,
    ///   ``CUDAError`` when cuDNN rejects a setting.
    init(_ cudnn: CUDNN, padding: [Int], stride: [Int], dilation: [Int], groups: Int,
         mathType: CUDNN.MathType) throws {
        let pad = try cudnnInt32s(padding, "padding"), step = try cudnnInt32s(stride, "stride")
        let dilate = try cudnnInt32s(dilation, "dilation"), count = try cudnnInt32s([groups], "groups")
        guard pad.count == 2, step.count == 2, dilate.count == 2 else {
            throw KusariError.invalidArgument("a 2-d convolution needs two paddings, strides and dilations, got "
                                              + "\(padding), \(stride), \(dilation)")
        }
        var descriptor: CUDNN.Descriptor?
        try cudnn.check(cudnn.cudnnCreateConvolutionDescriptor(&descriptor), "cudnnCreateConvolutionDescriptor")
        guard let descriptor else { throw CUDAError.noDevice("cudnnCreateConvolutionDescriptor returned nothing") }
        self.cudnn = cudnn
        self.descriptor = descriptor
        try cudnn.check(cudnn.cudnnSetConvolution2dDescriptor(descriptor, pad[0], pad[1], step[0], step[1], dilate[0],
                                                              dilate[1], CUDNN.ConvolutionMode.crossCorrelation.rawValue,
                                                              CUDNN.DataType.float32.rawValue),
                        "cudnnSetConvolution2dDescriptor(padding: \(padding), stride: \(stride), dilation: \(dilation))")
        try cudnn.check(cudnn.cudnnSetConvolutionGroupCount(descriptor, count[0]),
                        "cudnnSetConvolutionGroupCount(\(groups))")
        try setMathType(mathType.rawValue)
    }

    deinit { _ = cudnn.cudnnDestroyConvolutionDescriptor(descriptor) }

    /// Sets the `cudnnMathType_t` the next call runs with (an algorithm's own, once chosen).
    func setMathType(_ mathType: Int32) throws {
        try cudnn.check(cudnn.cudnnSetConvolutionMathType(descriptor, mathType),
                        "cudnnSetConvolutionMathType(\(mathType))")
    }
}

/// A cuDNN cross-channel LRN descriptor: `y = x / (k + alpha / size * Σ x²)^beta` over `size`
/// channels centred on each one.
final class CUDNNLRNDescriptor {
    /// `CUDNN_LRN_MIN_N` and `CUDNN_LRN_MAX_N`: the window sizes cuDNN takes.
    static let sizes = 1...16
    /// `CUDNN_LRN_MIN_K`.
    static let minimumK = 1e-5
    /// `CUDNN_LRN_MIN_BETA`.
    static let minimumBeta = 0.01

    let cudnn: CUDNN
    /// The `cudnnLRNDescriptor_t`.
    let descriptor: CUDNN.Descriptor

    /// A descriptor for the window `size` and the formula's `alpha`, `beta` and `k`.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` outside cuDNN's limits (`size` in
    ///   1...16, `k` ≥ 1e-5, `beta` ≥ 0.01), ``CUDAError`` when cuDNN rejects the descriptor.
    init(_ cudnn: CUDNN, size: Int, alpha: Float, beta: Float, k: Float) throws {
        guard Self.sizes.contains(size) else {
            throw KusariError.invalidArgument("localResponseNorm on CUDA: cuDNN takes window sizes "
                                              + "\(Self.sizes.lowerBound)...\(Self.sizes.upperBound), got \(size)")
        }
        guard Double(k) >= Self.minimumK, Double(beta) >= Self.minimumBeta, alpha.isFinite else {
            throw KusariError.invalidArgument("localResponseNorm on CUDA: cuDNN needs k ≥ \(Self.minimumK) and "
                                              + "beta ≥ \(Self.minimumBeta), got k = \(k), beta = \(beta), alpha = \(alpha)")
        }
        var descriptor: CUDNN.Descriptor?
        try cudnn.check(cudnn.cudnnCreateLRNDescriptor(&descriptor), "cudnnCreateLRNDescriptor")
        guard let descriptor else { throw CUDAError.noDevice("cudnnCreateLRNDescriptor returned nothing") }
        self.cudnn = cudnn
        self.descriptor = descriptor
        try cudnn.check(cudnn.cudnnSetLRNDescriptor(descriptor, UInt32(size), Double(alpha), Double(beta), Double(k)),
                        "cudnnSetLRNDescriptor(size: \(size), alpha: \(alpha), beta: \(beta), k: \(k))")
    }

    deinit { _ = cudnn.cudnnDestroyLRNDescriptor(descriptor) }
}

extension CUDNN.DataType {
    /// The cuDNN data type of `dtype`'s elements, `nil` for the integer dtypes.
    init?(_ dtype: DType) {
        switch dtype {
        case .float32: self = .float32
        case .float16: self = .float16
        case .bfloat16: self = .bfloat16
        case .int32, .int64, .uint8: return nil
        }
    }
}

extension CUDABackend {
    /// `tensor` as dense row-major float32 data on this device, the form cuDNN and the pooling
    /// kernels take: the tensor itself when it already is, otherwise a packed copy (queued).
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for another dtype or device.
    func packedFloat32(_ tensor: Tensor, _ role: String) throws -> Tensor {
        try expectFloat32(tensor, role)
        return try denseOnDevice(tensor, role)
    }
}

/// Row-major strides of a packed tensor of `shape`.
private func packedStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    for axis in shape.indices.dropLast().reversed() { strides[axis] = strides[axis + 1] * Swift.max(shape[axis + 1], 1) }
    return strides
}

/// `values` as the 32-bit integers of cuDNN's descriptors.
/// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for a negative value or one beyond `Int32.max`.
private func cudnnInt32s(_ values: [Int], _ what: String) throws -> [Int32] {
    try values.map { value in
        guard let narrow = Int32(exactly: value), narrow >= 0 else {
            throw KusariError.invalidArgument("\(what) \(values) does not fit cuDNN's 32-bit sizes")
        }
        return narrow
    }
}
