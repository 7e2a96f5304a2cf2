import Foundation
import Kusari

extension CUDABackend {
    /// Convolution (cuDNN forward) or transposed convolution (cuDNN backward-data of the
    /// convolution it transposes, whose filter is exactly the user's `[Cin, Cout/groups, kh, kw]`
    /// weight) of NCHW `input`, cross-correlation as on the CPU, plus `bias` per output channel.
    /// `input`, `weight` and `bias` share one dtype, float32, float16 or bfloat16, which the
    /// output has too; float16 and bfloat16 accumulate in float32 (tensor cores allowed) and
    /// round the output, then add the bias in float32 and round again. Algorithms come from
    /// cuDNN's heuristics (see ``ConvolutionAlgorithmCache``); float32 data is computed in
    /// float32 arithmetic unless ``allowsTF32``.
    /// - Throws: ``Kusari/KusariError`` when a tensor does not match the descriptor, for mixed or
    ///   integer dtypes, or for a transposed convolution whose output is smaller than its natural
    ///   size (cuDNN's sizes cannot express it); ``CUDAError`` when cuDNN fails.
    public func convolutionForward(_ convolution: ConvolutionDescriptor, input: Tensor, weight: Tensor,
                                   bias: Tensor?) throws -> Tensor {
        try CUDNNConvolution.validate(convolution)
        try CUDNNConvolution.expect(input, convolution.inputShape, "input")
        try CUDNNConvolution.expect(weight, convolution.weightShape, "weight")
        if let bias { try CUDNNConvolution.expect(bias, [convolution.outputShape[1]], "bias") }
        let dtype = try CUDNNConvolution.sharedDType([("input", input), ("weight", weight)]
                                                     + (bias.map { [("bias", $0)] } ?? []))
        let output = try Tensor(uninitializedShape: convolution.outputShape, dtype: dtype, on: self)
        guard output.count > 0 else { return output }
        if input.count == 0 || weight.count == 0 {
            try fill(output, with: 0)
        } else {
            let problem = try CUDNNConvolution(convolution, dtype: dtype, backend: self)
            let x = try denseOnDevice(input, "convolution input"), w = try denseOnDevice(weight, "convolution weight")
            if convolution.isTransposed {
                try problem.backwardData(weight: w, gradient: x, into: output)
            } else {
                try problem.forward(input: x, weight: w, into: output)
            }
        }
        if let bias { try addChannelBias(bias, to: output) }
        return output
    }

    /// The gradients of ``convolutionForward(_:input:weight:bias:)`` that `needed` asks for:
    /// input by cuDNN backward-data (forward for a transposed convolution), weight by
    /// backward-filter (with the roles of input and gradient swapped when transposed), bias by
    /// the sum over `N`, `H`, `W` (cuDNN's for float32, a float32-accumulating kernel for float16
    /// and bfloat16). `gradient`, `input` and `weight` share one dtype, which the results have.
    /// With ``deterministic`` only reproducible algorithms run.
    /// - Throws: as ``convolutionForward(_:input:weight:bias:)``.
    public func convolutionBackward(_ convolution: ConvolutionDescriptor, gradient: Tensor, input: Tensor, weight: Tensor,
                                    needed: (input: Bool, weight: Bool, bias: Bool)) throws
        -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
        try CUDNNConvolution.validate(convolution)
        try CUDNNConvolution.expect(gradient, convolution.outputShape, "output gradient")
        try CUDNNConvolution.expect(input, convolution.inputShape, "input")
        try CUDNNConvolution.expect(weight, convolution.weightShape, "weight")
        let dtype = try CUDNNConvolution.sharedDType([("output gradient", gradient), ("input", input),
                                                      ("weight", weight)])
        let dy = try denseOnDevice(gradient, "convolution output gradient")
        // Without elements on one side, the input and weight gradients are zeros (cuDNN takes no empty tensors).
        let empty = dy.count == 0 || input.count == 0 || weight.count == 0
        let problem = empty || !(needed.input || needed.weight) ? nil
            : try CUDNNConvolution(convolution, dtype: dtype, backend: self)
        /// A new gradient of `shape` that `compute` fills, or zeros when a side is empty.
        func makeGradient(_ shape: [Int], _ compute: (CUDNNConvolution, Tensor) throws -> Void) throws -> Tensor {
            let result = try Tensor(uninitializedShape: shape, dtype: dtype, on: self)
            if let problem { try compute(problem, result) } else { try fill(result, with: 0) }
            return result
        }
        let inputGradient = !needed.input ? nil : try makeGradient(convolution.inputShape) { problem, result in
            let w = try denseOnDevice(weight, "convolution weight")
            if convolution.isTransposed {
                try problem.forward(input: dy, weight: w, into: result)
            } else {
                try problem.backwardData(weight: w, gradient: dy, into: result)
            }
        }
        let weightGradient = !needed.weight ? nil : try makeGradient(convolution.weightShape) { problem, result in
            let x = try denseOnDevice(input, "convolution input")
            if convolution.isTransposed {
                try problem.backwardFilter(input: dy, gradient: x, into: result)
            } else {
                try problem.backwardFilter(input: x, gradient: dy, into: result)
            }
        }
        let biasGradient = needed.bias ? try channelSums(dy) : nil
        return (inputGradient, weightGradient, biasGradient)
    }

    /// `[C]`: the sums of the dense NCHW `gradient` over `N`, `H` and `W`, in its dtype
    /// (`cudnnConvolutionBackwardBias` for float32, `kusari_channel_sums_*` otherwise).
    private func channelSums(_ gradient: Tensor) throws -> Tensor {
        let (batch, channels) = (gradient.shape[0], gradient.shape[1])
        let result = try Tensor(uninitializedShape: [channels], dtype: gradient.dtype, on: self)
        guard gradient.count > 0 else {
            try fill(result, with: 0)
            return result
        }
        if gradient.dtype != .float32 {
            let inner = gradient.count / (batch * channels)
            try launchRows("kusari_channel_sums_\(Self.suffix(gradient.dtype))", in: .conversion, rows: channels,
                           work: batch * inner, maxThreads: 256,
                           [.pointer(Self.address(gradient)), .pointer(Self.address(result)), .count(batch),
                            .count(channels), .count(inner)])
            return result
        }
        try context.makeCurrent()
        let handle = try dnn(), cudnn = handle.cudnn
        let gradients = try CUDNNTensorDescriptor(cudnn, shape: gradient.shape)
        let sums = try CUDNNTensorDescriptor(cudnn, shape: [1, channels, 1, 1])
        var one: Float = 1, zero: Float = 0
        try cudnn.check(cudnn.cudnnConvolutionBackwardBias(handle.handle, &one, gradients.descriptor, Self.address(gradient),
                                                           &zero, sums.descriptor, Self.address(result)),
                        "cudnnConvolutionBackwardBias(\(gradient.shape))")
        return result
    }

    /// Adds `bias` (`[C]`, the dtype of `output`) to every channel of the dense NCHW `output`,
    /// in place.
    private func addChannelBias(_ bias: Tensor, to output: Tensor) throws {
        let b = try denseOnDevice(bias, "convolution bias")
        if output.dtype != .float32 {
            let inner = output.count / (output.shape[0] * output.shape[1])
            try launch("kusari_add_channel_bias_\(Self.suffix(output.dtype))", in: .conversion, count: output.count,
                       [.pointer(Self.address(output)), .pointer(Self.address(b)), .count(output.count),
                        .count(output.shape[1]), .count(inner)])
            return
        }
        let layout = KernelLayout(shape: output.shape, stridesA: output.strides, stridesB: [0, 1, 0, 0])
        try context.launch(kernel("kusari_add_broadcast_f32", in: .elementwise), count: output.count,
                           arguments: [.pointer(Self.address(output)), .pointer(Self.address(b)),
                                       .pointer(Self.address(output)), .count(output.count), layout.argument])
    }
}

/// One convolution as cuDNN sees it: the convolution from `x` to `y` with filter `w`, where
/// `x` is the user's input and `y` its output, or the other way round for a transposed
/// convolution (the transpose of the convolution from its output to its input).
private struct CUDNNConvolution {
    let backend: CUDABackend
    let handle: CUDNNHandle
    let convolution: ConvolutionDescriptor
    let x: CUDNNTensorDescriptor, y: CUDNNTensorDescriptor
    let w: CUDNNFilterDescriptor
    let descriptor: CUDNNConvolutionDescriptor
    let key: ConvolutionAlgorithmCache.Key

    /// The descriptors of the ``validate(_:)``-checked, non-empty `convolution` of `dtype` data
    /// (float32, float16 or bfloat16; see ``sharedDType(_:)``) on `backend`'s cuDNN handle.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for an integer `dtype`,
    ///   ``CUDAError`` when cuDNN rejects a descriptor.
    init(_ convolution: ConvolutionDescriptor, dtype: DType, backend: CUDABackend) throws {
        guard let dataType = CUDNN.DataType(dtype) else {
            throw KusariError.invalidArgument("convolution on CUDA: no cuDNN data type for \(dtype)")
        }
        let (xShape, yShape) = convolution.isTransposed ? (convolution.outputShape, convolution.inputShape)
                                                        : (convolution.inputShape, convolution.outputShape)
        try backend.context.makeCurrent()
        let handle = try backend.dnn()
        let cudnn = handle.cudnn
        self.backend = backend
        self.handle = handle
        self.convolution = convolution
        x = try CUDNNTensorDescriptor(cudnn, shape: xShape, dataType: dataType)
        y = try CUDNNTensorDescriptor(cudnn, shape: yShape, dataType: dataType)
        w = try CUDNNFilterDescriptor(cudnn, shape: convolution.weightShape, dataType: dataType)
        key = ConvolutionAlgorithmCache.Key(device: backend.context.device.ordinal, convolution: convolution,
                                            dtype: dtype, direction: .forward, deterministic: backend.deterministic,
                                            allowsTF32: backend.allowsTF32)
        descriptor = try CUDNNConvolutionDescriptor(cudnn, padding: convolution.padding, stride: convolution.stride,
                                                    dilation: convolution.dilation, groups: convolution.groups,
                                                    mathType: key.allowsTensorCores ? .tensorOp : .fma)
    }

    /// The dtype that the `(role, tensor)` `operands` of a convolution share: float32, float16
    /// or bfloat16.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for mixed dtypes or an integer one.
    static func sharedDType(_ operands: [(String, Tensor)]) throws -> DType {
        let dtype = operands[0].1.dtype
        guard operands.allSatisfy({ $0.1.dtype == dtype }) else {
            throw KusariError.invalidArgument("convolution on CUDA needs one dtype for all operands, got "
                                              + operands.map { "\($0.0) \($0.1.dtype)" }.joined(separator: ", "))
        }
        guard CUDNN.DataType(dtype) != nil else {
            throw KusariError.invalidArgument("convolution on CUDA takes float32, float16 or bfloat16, got \(dtype)")
        }
        return dtype
    }

    /// Throws ``Kusari/KusariError/invalidArgument(_:)`` unless `c` describes a 2-d
    /// convolution whose sizes agree and that cuDNN can compute.
    static func validate(_ c: ConvolutionDescriptor) throws {
        let shapes = c.inputShape + c.outputShape + c.weightShape
        guard c.inputShape.count == 4, c.outputShape.count == 4, c.weightShape.count == 4, shapes.allSatisfy({ $0 >= 0 }),
              c.stride.count == 2, c.padding.count == 2, c.dilation.count == 2, c.groups > 0,
              c.stride.allSatisfy({ $0 > 0 }), c.dilation.allSatisfy({ $0 > 0 }), c.padding.allSatisfy({ $0 >= 0 }) else {
            throw KusariError.invalidArgument("convolution: bad sizes \(c)")
        }
        let (inChannels, outChannels) = c.isTransposed ? (c.weightShape[0], c.weightShape[1] * c.groups)
                                                       : (c.weightShape[1] * c.groups, c.weightShape[0])
        guard c.inputShape[0] == c.outputShape[0], c.inputShape[1] == inChannels, c.outputShape[1] == outChannels,
              c.weightShape[0] % c.groups == 0 else {
            throw KusariError.invalidArgument("convolution: input \(c.inputShape), weight \(c.weightShape) and output "
                                              + "\(c.outputShape) do not agree (groups \(c.groups))")
        }
        // cuDNN's convolution from x to y has y = ⌊(x + 2 pad − span) / stride⌋ + 1 along each axis.
        let (xShape, yShape) = c.isTransposed ? (c.outputShape, c.inputShape) : (c.inputShape, c.outputShape)
        for axis in 0..<2 {
            let span = c.dilation[axis] * (c.weightShape[axis + 2] - 1) + 1
            let extent = xShape[axis + 2] + 2 * c.padding[axis] - span
            guard extent >= 0, extent / c.stride[axis] + 1 == yShape[axis + 2] else {
                throw KusariError.invalidArgument("convolution on CUDA: \(c.isTransposed ? "transposed " : "")output "
                                                  + "\(c.outputShape) of input \(c.inputShape) is not one cuDNN can "
                                                  + "compute (a transposed output below its natural size?)")
            }
        }
    }

    /// Throws unless `tensor` has `shape`.
    static func expect(_ tensor: Tensor, _ shape: [Int], _ role: String) throws {
        guard tensor.shape == shape else {
            throw KusariError.shapeMismatch("convolution \(role) is \(tensor.shape), the descriptor says \(shape)")
        }
    }

    /// `output` (`y`) = convolution of `input` (`x`) with `weight`.
    func forward(input: Tensor, weight: Tensor, into output: Tensor) throws {
        let cudnn = handle.cudnn
        try run(.forward) { algorithm, workspace, bytes in
            var one: Float = 1, zero: Float = 0
            try cudnn.check(cudnn.cudnnConvolutionForward(
                handle.handle, &one, x.descriptor, CUDABackend.address(input), w.descriptor, CUDABackend.address(weight),
                descriptor.descriptor, algorithm, workspace, bytes, &zero, y.descriptor, CUDABackend.address(output)),
                "cudnnConvolutionForward(algorithm \(algorithm), \(convolution.inputShape) → \(convolution.outputShape))")
        }
    }

    /// `result` (`x`-shaped) = the input gradient of the convolution for the `y`-shaped `gradient`.
    func backwardData(weight: Tensor, gradient: Tensor, into result: Tensor) throws {
        let cudnn = handle.cudnn
        try run(.backwardData) { algorithm, workspace, bytes in
            var one: Float = 1, zero: Float = 0
            try cudnn.check(cudnn.cudnnConvolutionBackwardData(
                handle.handle, &one, w.descriptor, CUDABackend.address(weight), y.descriptor,
                CUDABackend.address(gradient), descriptor.descriptor, algorithm, workspace, bytes, &zero, x.descriptor,
                CUDABackend.address(result)),
                "cudnnConvolutionBackwardData(algorithm \(algorithm), \(convolution.inputShape) → \(convolution.outputShape))")
        }
    }

    /// `result` = the filter gradient of the convolution of the `x`-shaped `input` for the
    /// `y`-shaped `gradient`.
    func backwardFilter(input: Tensor, gradient: Tensor, into result: Tensor) throws {
        let cudnn = handle.cudnn
        try run(.backwardFilter) { algorithm, workspace, bytes in
            var one: Float = 1, zero: Float = 0
            try cudnn.check(cudnn.cudnnConvolutionBackwardFilter(
                handle.handle, &one, x.descriptor, CUDABackend.address(input), y.descriptor,
                CUDABackend.address(gradient), descriptor.descriptor, algorithm, workspace, bytes, &zero, w.descriptor,
                CUDABackend.address(result)),
                "cudnnConvolutionBackwardFilter(algorithm \(algorithm), \(convolution.inputShape) → \(convolution.outputShape))")
        }
    }

    /// Runs `body` with the algorithm chosen for `direction`, its math type set, and a
    /// workspace of the size cuDNN asks for (address and bytes).
    private func run(_ direction: ConvolutionAlgorithmCache.Direction,
                     _ body: (Int32, CUdeviceptr, Int) throws -> Void) throws {
        let choice = try ConvolutionAlgorithmCache.shared.choice(for: key.with(direction)) {
            try chooseAlgorithm(direction)
        }
        try descriptor.setMathType(choice.mathType)
        let cudnn = handle.cudnn
        var bytes = 0
        switch direction {
        case .forward:
            try cudnn.check(cudnn.cudnnGetConvolutionForwardWorkspaceSize(
                handle.handle, x.descriptor, w.descriptor, descriptor.descriptor, y.descriptor, choice.algorithm, &bytes),
                "cudnnGetConvolutionForwardWorkspaceSize(algorithm \(choice.algorithm))")
        case .backwardData:
            try cudnn.check(cudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(
                handle.handle, w.descriptor, y.descriptor, descriptor.descriptor, x.descriptor, choice.algorithm, &bytes),
                "cudnnGetConvolutionBackwardDataWorkspaceSize(algorithm \(choice.algorithm))")
        case .backwardFilter:
            try cudnn.check(cudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(
                handle.handle, x.descriptor, y.descriptor, descriptor.descriptor, w.descriptor, choice.algorithm, &bytes),
                "cudnnGetConvolutionBackwardFilterWorkspaceSize(algorithm \(choice.algorithm))")
        }
        // Freed after queueing: the allocator hands it out again only to work queued later on
        // the same stream.
        let workspace = bytes > 0 ? try Tensor(uninitializedShape: [bytes], dtype: .uint8, on: backend) : nil
        try withExtendedLifetime(workspace) {
            try body(choice.algorithm, workspace.map(CUDABackend.address) ?? 0, bytes)
        }
    }

    /// The first of cuDNN's heuristic ranking for `direction` that runs for these shapes, is
    /// reproducible when ``CUDABackend/deterministic`` is set, computes float32 data in float32
    /// unless TF32 is allowed (an algorithm the heuristics report with a tensor-op math type is
    /// skipped, any other runs with FMA math; 16-bit data takes any math type: tensor cores
    /// accumulate in float32), and whose workspace fits in free device memory (with the allocator's cache).
    private func chooseAlgorithm(_ direction: ConvolutionAlgorithmCache.Direction) throws
        -> ConvolutionAlgorithmCache.Choice {
        let cudnn = handle.cudnn
        var ranking = [CUDNNAlgorithmPerformance](repeating: CUDNNAlgorithmPerformance(), count: 16)
        var returned: Int32 = 0
        let requested = Int32(ranking.count)
        let status = ranking.withUnsafeMutableBytes { entries -> Int32 in
            switch direction {
            case .forward:
                return cudnn.cudnnGetConvolutionForwardAlgorithm(handle.handle, x.descriptor, w.descriptor,
                                                                 descriptor.descriptor, y.descriptor, requested,
                                                                 &returned, entries.baseAddress)
            case .backwardData:
                return cudnn.cudnnGetConvolutionBackwardDataAlgorithm(handle.handle, w.descriptor, y.descriptor,
                                                                      descriptor.descriptor, x.descriptor, requested,
                                                                      &returned, entries.baseAddress)
            case .backwardFilter:
                return cudnn.cudnnGetConvolutionBackwardFilterAlgorithm(handle.handle, x.descriptor, y.descriptor,
                                                                        descriptor.descriptor, w.descriptor, requested,
                                                                        &returned, entries.baseAddress)
            }
        }
        try cudnn.check(status, "cudnnGetConvolution\(direction.rawValue)Algorithm_v7(\(convolution.inputShape) → "
                                + "\(convolution.outputShape))")
        let allocator = backend.context.allocator
        let limit = (allocator.backend.memoryInfo()?.free ?? 0) + allocator.statistics.cachedBytes
        let candidates = ranking.prefix(Int(Swift.max(0, Swift.min(returned, requested))))
        let tensorOps = [CUDNN.MathType.tensorOp.rawValue, CUDNN.MathType.tensorOpAllowConversion.rawValue]
        let usable = candidates.first { entry in
            entry.status == 0 && (!key.deterministic || entry.isDeterministic)
                && (key.allowsTensorCores || !tensorOps.contains(entry.mathType)) && entry.memory <= limit
        }
        guard let usable else {
            let listed = candidates.map { "algorithm \($0.algorithm) (status \($0.status), deterministic "
                                          + "\($0.isDeterministic), math \($0.mathType), \($0.memory) bytes)" }
            throw KusariError.backend("cuDNN has no \(key.deterministic ? "deterministic " : "")\(direction.rawValue) "
                                      + "algorithm for \(convolution) within \(limit) bytes of workspace: "
                                      + listed.joined(separator: ", "))
        }
        // Without tensor cores the algorithm runs with FMA math, whichever non-tensor-op math
        // type the heuristics reported for it.
        return ConvolutionAlgorithmCache.Choice(algorithm: usable.algorithm,
                                                mathType: key.allowsTensorCores ? usable.mathType
                                                                                : CUDNN.MathType.fma.rawValue)
    }
}

/// The convolution algorithms chosen so far, so cuDNN's heuristics run once per problem:
/// keyed by GPU, convolution, dtype, direction, determinism and TF32, shared by every backend.
final class ConvolutionAlgorithmCache: @unchecked Sendable {
    /// Which of the three cuDNN convolution calls.
    enum Direction: String, Hashable, Sendable {
        case forward = "Forward", backwardData = "BackwardData", backwardFilter = "BackwardFilter"
    }

    /// What an algorithm was chosen for.
    struct Key: Hashable, Sendable {
        /// The GPU's ordinal.
        let device: Int
        let convolution: ConvolutionDescriptor
        /// The data's dtype: float32, float16 or bfloat16.
        let dtype: DType
        let direction: Direction
        let deterministic: Bool
        let allowsTF32: Bool

        /// Whether algorithms may use tensor cores: always for 16-bit data, for float32 only
        /// when TF32 is allowed.
        var allowsTensorCores: Bool { dtype != .float32 || allowsTF32 }

        /// The same problem in another direction.
        func with(_ direction: Direction) -> Key {
            Key(device: device, convolution: convolution, dtype: dtype, direction: direction,
                deterministic: deterministic, allowsTF32: allowsTF32)
        }
    }

    /// A chosen algorithm and the `cudnnMathType_t` it runs with.
    struct Choice: Sendable {
        let algorithm: Int32
        let mathType: Int32
    }

    /// The process's cache.
    static let shared = ConvolutionAlgorithmCache()

    private let lock = NSLock()
    private var choices: [Key: Choice] = [:]

    /// The choice for `key`, made by `choose` (outside the lock) the first time.
    func choice(for key: Key, choose: () throws -> Choice) rethrows -> Choice {
        if let known = cached(key) { return known }
        let made = try choose()
        lock.lock(); defer { lock.unlock() }
        choices[key] = made
        return made
    }

    private func cached(_ key: Key) -> Choice? {
        lock.lock(); defer { lock.unlock() }
        return choices[key]
    }
}
