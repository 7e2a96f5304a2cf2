import CDNNL

/// Max pooling over NCHW input. Windows may overlap (kernel larger than stride); `ceilMode`
/// keeps a last partial window like Chainer's `cover_all` and PyTorch's `ceil_mode`.
public func maxPool2d(_ input: Tensor, kernelSize: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0],
                      ceilMode: Bool = false) -> Tensor {
    PoolingOp(algorithm: dnnl_pooling_max, input: input.shape, kernel: kernelSize, stride: stride ?? kernelSize,
              padding: padding, ceilMode: ceilMode).apply(input)
}

/// Average pooling over NCHW input. With `countIncludePad` the zero padding counts in the
/// divisor (PyTorch's default); the extra end padding added by `ceilMode` never does.
public func avgPool2d(_ input: Tensor, kernelSize: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0],
                      ceilMode: Bool = false, countIncludePad: Bool = true) -> Tensor {
    let stride = stride ?? kernelSize
    let geometry = PoolingOp(algorithm: dnnl_pooling_avg_include_padding, input: input.shape, kernel: kernelSize,
                             stride: stride, padding: padding, ceilMode: ceilMode)
    let extendsPastPadding = zip(geometry.paddingEnd, padding).contains { $0 > $1 }
    // Past the requested padding only real elements count, which is oneDNN's "exclude padding"
    // when no padding was requested.
    require(!(countIncludePad && extendsPastPadding && padding != [0, 0]),
            "avgPool2d: ceilMode together with padding and countIncludePad is not supported")
    let include = countIncludePad && !extendsPastPadding
    return PoolingOp(algorithm: include ? dnnl_pooling_avg_include_padding : dnnl_pooling_avg_exclude_padding,
                     input: input.shape, kernel: kernelSize, stride: stride, padding: padding,
                     ceilMode: ceilMode).apply(input)
}

/// Mean over the spatial axes of NCHW input, giving `[N, C]`.
public func globalAvgPool2d(_ input: Tensor) -> Tensor {
    require(input.rank == 4, "globalAvgPool2d expects NCHW input, got \(input.shape)")
    return avgPool2d(input, kernelSize: [input.shape[2], input.shape[3]]).reshape([input.shape[0], input.shape[1]])
}

/// Maximum over the spatial axes of NCHW input, giving `[N, C]`.
public func globalMaxPool2d(_ input: Tensor) -> Tensor {
    require(input.rank == 4, "globalMaxPool2d expects NCHW input, got \(input.shape)")
    return maxPool2d(input, kernelSize: [input.shape[2], input.shape[3]]).reshape([input.shape[0], input.shape[1]])
}

/// oneDNN pooling forward/backward for one configuration.
private struct PoolingOp {
    let algorithm: dnnl_alg_kind_t
    let sourceDims: [Int], destinationDims: [Int]
    let kernel: [Int], stride: [Int], padding: [Int], paddingEnd: [Int]

    init(algorithm: dnnl_alg_kind_t, input: [Int], kernel: [Int], stride: [Int], padding: [Int], ceilMode: Bool) {
        require(input.count == 4, "pooling expects NCHW input, got shape \(input)")
        require(kernel.count == 2 && stride.count == 2 && padding.count == 2, "pooling sizes must have two entries")
        var output = [0, 0], end = padding
        for i in 0..<2 {
            let span = input[i + 2] + 2 * padding[i] - kernel[i]
            require(span >= 0, "pooling window \(kernel) larger than padded input \(input)")
            var size = (ceilMode ? (span + stride[i] - 1) / stride[i] : span / stride[i]) + 1
            // A last window must start inside the input or its left padding (PyTorch's rule).
            if ceilMode && (size - 1) * stride[i] >= input[i + 2] + padding[i] { size -= 1 }
            output[i] = size
            end[i] = (size - 1) * stride[i] + kernel[i] - input[i + 2] - padding[i]
        }
        self.algorithm = algorithm
        sourceDims = input
        destinationDims = [input[0], input[1]] + output
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        paddingEnd = end
    }

    private var key: String { "pool|\(algorithm.rawValue)|\(sourceDims)|\(kernel)|\(stride)|\(padding)|\(paddingEnd)" }

    func apply(_ input: Tensor) -> Tensor {
        require(input.dtype == .float32, "pooling needs a float32 tensor, got \(input.dtype)")
        if let operations = DeviceDispatch.operations("pool2d", [input]) { return apply(on: operations, input) }
        let inputLayout = input.currentLayout()
        let forward = PrimitiveCache.shared.primitive(key + "|fwd|\(inputLayout.layout.key)") {
            var desc = dnnl_pooling_v2_desc_t()
            var src = inputLayout.layout.raw
            var dst = MemoryDescriptor.any(dims: destinationDims).raw
            DNNL.check(dnnl_pooling_v2_forward_desc_init(&desc, dnnl_forward_training, algorithm, &src, &dst,
                                                         stride.dnnlDims, kernel.dnnlDims, [0, 0], padding.dnnlDims,
                                                         paddingEnd.dnnlDims), "pooling forward descriptor")
            return makePrimitiveDescriptor(&desc, "pooling forward")
        }
        let dstLayout = forward.layout(dnnl_query_dst_md)
        let output = Tensor.withLayout(dstLayout, shape: destinationDims)
        var arguments = [(DNNL_ARG_SRC, inputLayout.layout, inputLayout.tensor.rawData), (DNNL_ARG_DST, dstLayout, output.rawData)]
        let workspaceLayout = forward.workspaceLayout
        let workspace = workspaceLayout.map { Storage(byteCount: $0.byteSize) }
        if let workspaceLayout, let workspace { arguments.append((DNNL_ARG_WORKSPACE, workspaceLayout, workspace.data)) }
        forward.execute(arguments)

        return Tensor.record("pool2d", output, inputs: [input]) { grad in
            let backward = PrimitiveCache.shared.primitive(key + "|bwd|\(inputLayout.layout.key)") {
                var desc = dnnl_pooling_v2_desc_t()
                var diffSrc = MemoryDescriptor.any(dims: sourceDims).raw
                var diffDst = dstLayout.raw
                DNNL.check(dnnl_pooling_v2_backward_desc_init(&desc, algorithm, &diffSrc, &diffDst, stride.dnnlDims,
                                                              kernel.dnnlDims, [0, 0], padding.dnnlDims,
                                                              paddingEnd.dnnlDims), "pooling backward descriptor")
                return makePrimitiveDescriptor(&desc, "pooling backward", hint: forward.descriptor)
            }
            let diffDstLayout = backward.layout(dnnl_query_diff_dst_md)
            let diffSrcLayout = backward.layout(dnnl_query_diff_src_md)
            let diffDst = grad.inLayout(diffDstLayout)
            let diffSrc = Tensor.withLayout(diffSrcLayout, shape: sourceDims)
            var arguments = [(DNNL_ARG_DIFF_DST, diffDstLayout, diffDst.rawData), (DNNL_ARG_DIFF_SRC, diffSrcLayout, diffSrc.rawData)]
            if let workspaceLayout, let workspace { arguments.append((DNNL_ARG_WORKSPACE, workspaceLayout, workspace.data)) }
            backward.execute(arguments)
            return [diffSrc]
        }
    }

    /// The pooling on a GPU, through the backend's forward and backward.
    private func apply(on operations: any DeviceOperations, _ input: Tensor) -> Tensor {
        let descriptor = PoolingDescriptor(kind: algorithm == dnnl_pooling_max ? .max : .average,
                                           countIncludesPadding: algorithm == dnnl_pooling_avg_include_padding,
                                           inputShape: sourceDims, outputShape: destinationDims, kernel: kernel,
                                           stride: stride, padding: padding, paddingEnd: paddingEnd)
        let source = input.contiguous().detach()
        let output = DeviceDispatch.run("pool2d") { try operations.poolingForward(descriptor, input: source) }
        let saved = output.detach()
        return Tensor.record("pool2d", output, inputs: [input]) { grad in
            let gradient = grad.contiguous()
            return [DeviceDispatch.run("pool2d backward") {
                try operations.poolingBackward(descriptor, gradient: gradient, input: source, output: saved)
            }]
        }
    }
}
