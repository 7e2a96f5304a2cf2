import CDNNL

/// 2-d convolution (cross-correlation, like every framework) on NCHW input.
///
/// Input, weight and bias share one float dtype; the result has it too. Under ``Autocast``,
/// float32 operands are converted to the autocast dtype, convolved in it (float32 accumulation)
/// and the output converted back to float32; gradients flow back through the conversions.
///
/// - Parameters:
///   - weight: `[Cout, Cin / groups, kh, kw]`.
///   - bias: `[Cout]`, optional.
///   - padding: zeros added on both sides, `[ph, pw]`.
public func conv2d(_ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1, 1],
                   padding: [Int] = [0, 0], dilation: [Int] = [1, 1], groups: Int = 1) -> Tensor {
    let geometry = ConvolutionGeometry.convolution(input: input.shape, weight: weight.shape, stride: stride,
                                                   padding: padding, dilation: dilation, groups: groups)
    let weightLayout = MemoryDescriptor(dims: geometry.weightDims)
    return ConvolutionOp(kind: .convolution, geometry: geometry, weightLayout: weightLayout)
        .autocast(input, weight, bias)
}

/// 2-d transposed convolution ("deconvolution") on NCHW input, the gradient of ``conv2d`` with
/// respect to its input. Dtypes and ``Autocast`` work as for ``conv2d(_:_:bias:stride:padding:dilation:groups:)``.
///
/// - Parameters:
///   - weight: `[Cin, Cout / groups, kh, kw]` (PyTorch's layout).
///   - outputSize: the exact `[H, W]` of the result (FCN-style upsampling); by default the
///     smallest size, `(in - 1) * stride - 2 * padding + dilation * (k - 1) + 1`.
public func convTranspose2d(_ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1, 1],
                            padding: [Int] = [0, 0], outputSize: [Int]? = nil, dilation: [Int] = [1, 1],
                            groups: Int = 1) -> Tensor {
    let geometry = ConvolutionGeometry.transposed(input: input.shape, weight: weight.shape, stride: stride,
                                                  padding: padding, dilation: dilation, groups: groups,
                                                  requested: outputSize)
    // PyTorch stores [G * I/G, O/G, kh, kw]; oneDNN reads [G, O/G, I/G, kh, kw]: a strided view.
    let (i, o, k) = (geometry.inChannels / groups, geometry.outChannels / groups, geometry.kernel[0] * geometry.kernel[1])
    let strides = groups == 1 ? [k, o * k, geometry.kernel[1], 1] : [i * o * k, k, o * k, geometry.kernel[1], 1]
    let weightLayout = MemoryDescriptor(dims: geometry.weightDims, strides: strides)
    return ConvolutionOp(kind: .deconvolution, geometry: geometry, weightLayout: weightLayout)
        .autocast(input, weight, bias)
}

/// The oneDNN primitives behind convolution and deconvolution: forward, backward-data and
/// backward-weights, each created once per geometry and cached. float16 and bfloat16 operands
/// go to a GPU as they are; on the CPU they are widened to float32 (exactly), convolved, and the
/// output rounded back (so are the gradients, through the conversions' backward).
private struct ConvolutionOp {
    enum Kind: String { case convolution, deconvolution }
    let kind: Kind
    let geometry: ConvolutionGeometry
    /// How the user's weight tensor maps onto oneDNN's weight dims.
    let weightLayout: MemoryDescriptor

    private var algorithm: dnnl_alg_kind_t {
        kind == .convolution ? dnnl_convolution_direct : dnnl_deconvolution_direct
    }

    /// The op on float32 operands converted to the ``Autocast`` dtype when one is in effect,
    /// with a float32 result; otherwise the op as it is.
    func autocast(_ input: Tensor, _ weight: Tensor, _ bias: Tensor?) -> Tensor {
        guard let reduced = Autocast.castDType([input, weight] + (bias.map { [$0] } ?? [])) else {
            return apply(input, weight, bias)
        }
        return apply(input.to(reduced), weight.to(reduced), bias?.to(reduced)).to(.float32)
    }

    func apply(_ input: Tensor, _ weight: Tensor, _ bias: Tensor?) -> Tensor {
        if let bias { require(bias.shape == [geometry.outChannels], "\(kind) bias must be [\(geometry.outChannels)], got \(bias.shape)") }
        require(input.dtype.isFloatingPoint && weight.dtype == input.dtype && (bias?.dtype ?? input.dtype) == input.dtype,
                "\(kind) needs input, weight and bias of one float dtype, got input \(input.dtype), weight \(weight.dtype)"
                + (bias.map { ", bias \($0.dtype)" } ?? ""))
        if let operations = DeviceDispatch.operations(kind.rawValue, [input, weight, bias]) {
            return apply(on: operations, input, weight, bias)
        }
        if input.dtype != .float32 {
            return apply(input.to(.float32), weight.to(.float32), bias?.to(.float32)).to(input.dtype)
        }
        let forward = forwardPrimitive(bias: bias != nil)
        let source = input.inLayout(forward.layout(dnnl_query_src_md))
        let weights = weight.inLayout(forward.layout(dnnl_query_weights_md), from: (weightLayout, weight.contiguous()))
        let output = Tensor.withLayout(forward.layout(dnnl_query_dst_md), shape: geometry.destinationDims)
        var arguments = [(DNNL_ARG_SRC, forward.layout(dnnl_query_src_md), source.rawData),
                         (DNNL_ARG_WEIGHTS, forward.layout(dnnl_query_weights_md), weights.rawData),
                         (DNNL_ARG_DST, forward.layout(dnnl_query_dst_md), output.rawData)]
        if let bias {
            arguments.append((DNNL_ARG_BIAS, MemoryDescriptor(dims: [geometry.outChannels]), bias.contiguous().rawData))
        }
        forward.execute(arguments)

        let inputs = [input, weight] + (bias.map { [$0] } ?? [])
        return Tensor.record(kind.rawValue, output, inputs: inputs) { grad in
            let inputGrad = input.requiresGrad ? backwardData(grad, weight: weight, forward: forward) : nil
            var weightGrad: Tensor?, biasGrad: Tensor?
            if weight.requiresGrad || bias?.requiresGrad == true {
                (weightGrad, biasGrad) = backwardWeights(grad, source: source, weightShape: weight.shape,
                                                         bias: bias != nil, forward: forward)
            }
            return [inputGrad, weightGrad] + (bias != nil ? [biasGrad] : [])
        }
    }

    /// The convolution on a GPU, through the backend's forward and backward.
    private func apply(on operations: any DeviceOperations, _ input: Tensor, _ weight: Tensor, _ bias: Tensor?) -> Tensor {
        let descriptor = ConvolutionDescriptor(isTransposed: kind == .deconvolution, inputShape: geometry.sourceDims,
                                               outputShape: geometry.destinationDims, weightShape: weight.shape,
                                               stride: geometry.stride, padding: geometry.paddingBegin,
                                               dilation: geometry.dilation, groups: geometry.groups)
        let x = input.contiguous().detach(), w = weight.contiguous().detach(), b = bias?.contiguous().detach()
        let output = DeviceDispatch.run(kind.rawValue) {
            try operations.convolutionForward(descriptor, input: x, weight: w, bias: b)
        }
        let inputs = [input, weight] + (bias.map { [$0] } ?? [])
        return Tensor.record(kind.rawValue, output, inputs: inputs) { grad in
            let gradient = grad.to(x.dtype).contiguous()
            let needed = (input: input.requiresGrad, weight: weight.requiresGrad, bias: bias?.requiresGrad == true)
            let gradients = DeviceDispatch.run(kind.rawValue + " backward") {
                try operations.convolutionBackward(descriptor, gradient: gradient, input: x, weight: w, needed: needed)
            }
            return [gradients.input, gradients.weight] + (bias != nil ? [gradients.bias] : [])
        }
    }

    private func forwardPrimitive(bias: Bool) -> Primitive {
        PrimitiveCache.shared.primitive(geometry.key("\(kind)-fwd", bias: bias)) {
            var desc = dnnl_convolution_desc_t()
            var src = MemoryDescriptor.any(dims: geometry.sourceDims).raw
            var weights = MemoryDescriptor.any(dims: geometry.weightDims).raw
            var dst = MemoryDescriptor.any(dims: geometry.destinationDims).raw
            var biasDesc = MemoryDescriptor(dims: [geometry.outChannels]).raw
            let status = withUnsafeMutablePointer(to: &biasDesc) { biasPointer -> dnnl_status_t in
                let biasArgument = bias ? UnsafePointer(biasPointer) : nil
                let initialize = kind == .convolution ? dnnl_dilated_convolution_forward_desc_init
                                                : dnnl_dilated_deconvolution_forward_desc_init
                return initialize(&desc, dnnl_forward_training, algorithm, &src, &weights, biasArgument, &dst,
                            geometry.stride.dnnlDims, geometry.dnnlDilation.dnnlDims,
                            geometry.paddingBegin.dnnlDims, geometry.paddingEnd.dnnlDims)
            }
            DNNL.check(status, "\(kind) forward descriptor")
            return makePrimitiveDescriptor(&desc, "\(kind) forward")
        }
    }

    private func backwardData(_ grad: Tensor, weight: Tensor, forward: Primitive) -> Tensor {
        let primitive = PrimitiveCache.shared.primitive(geometry.key("\(kind)-bwd-data", bias: false)) {
            var desc = dnnl_convolution_desc_t()
            var diffSrc = MemoryDescriptor.any(dims: geometry.sourceDims).raw
            var weights = MemoryDescriptor.any(dims: geometry.weightDims).raw
            var diffDst = MemoryDescriptor.any(dims: geometry.destinationDims).raw
            let initialize = kind == .convolution ? dnnl_dilated_convolution_backward_data_desc_init
                                            : dnnl_dilated_deconvolution_backward_data_desc_init
            let status = initialize(&desc, algorithm, &diffSrc, &weights, &diffDst, geometry.stride.dnnlDims,
                              geometry.dnnlDilation.dnnlDims, geometry.paddingBegin.dnnlDims, geometry.paddingEnd.dnnlDims)
            DNNL.check(status, "\(kind) backward-data descriptor")
            return makePrimitiveDescriptor(&desc, "\(kind) backward data", hint: forward.descriptor)
        }
        let diffDst = grad.inLayout(primitive.layout(dnnl_query_diff_dst_md))
        let weights = weight.inLayout(primitive.layout(dnnl_query_weights_md), from: (weightLayout, weight.contiguous()))
        let diffSrc = Tensor.withLayout(primitive.layout(dnnl_query_diff_src_md), shape: geometry.sourceDims)
        primitive.execute([(DNNL_ARG_DIFF_DST, primitive.layout(dnnl_query_diff_dst_md), diffDst.rawData),
                           (DNNL_ARG_WEIGHTS, primitive.layout(dnnl_query_weights_md), weights.rawData),
                           (DNNL_ARG_DIFF_SRC, primitive.layout(dnnl_query_diff_src_md), diffSrc.rawData)])
        return diffSrc
    }

    private func backwardWeights(_ grad: Tensor, source: Tensor, weightShape: [Int], bias: Bool,
                                 forward: Primitive) -> (Tensor, Tensor?) {
        let primitive = PrimitiveCache.shared.primitive(geometry.key("\(kind)-bwd-weights", bias: bias)) {
            var desc = dnnl_convolution_desc_t()
            var src = MemoryDescriptor.any(dims: geometry.sourceDims).raw
            var diffWeights = MemoryDescriptor.any(dims: geometry.weightDims).raw
            var diffDst = MemoryDescriptor.any(dims: geometry.destinationDims).raw
            var diffBias = MemoryDescriptor(dims: [geometry.outChannels]).raw
            let status = withUnsafeMutablePointer(to: &diffBias) { biasPointer -> dnnl_status_t in
                let biasArgument = bias ? UnsafePointer(biasPointer) : nil
                let initialize = kind == .convolution ? dnnl_dilated_convolution_backward_weights_desc_init
                                                : dnnl_dilated_deconvolution_backward_weights_desc_init
                return initialize(&desc, algorithm, &src, &diffWeights, biasArgument, &diffDst, geometry.stride.dnnlDims,
                            geometry.dnnlDilation.dnnlDims, geometry.paddingBegin.dnnlDims, geometry.paddingEnd.dnnlDims)
            }
            DNNL.check(status, "\(kind) backward-weights descriptor")
            return makePrimitiveDescriptor(&desc, "\(kind) backward weights", hint: forward.descriptor)
        }
        let srcLayout = primitive.layout(dnnl_query_src_md)
        let diffDstLayout = primitive.layout(dnnl_query_diff_dst_md)
        let diffWeightsLayout = primitive.layout(dnnl_query_diff_weights_md)
        let src = source.inLayout(srcLayout, dims: geometry.sourceDims)
        let diffDst = grad.inLayout(diffDstLayout)
        let diffWeights = Tensor.withLayout(diffWeightsLayout, shape: geometry.weightDims)
        let biasGrad = bias ? Tensor(uninitializedShape: [geometry.outChannels]) : nil
        var arguments = [(DNNL_ARG_SRC, srcLayout, src.rawData), (DNNL_ARG_DIFF_DST, diffDstLayout, diffDst.rawData),
                         (DNNL_ARG_DIFF_WEIGHTS, diffWeightsLayout, diffWeights.rawData)]
        if let biasGrad {
            arguments.append((DNNL_ARG_DIFF_BIAS, MemoryDescriptor(dims: [geometry.outChannels]), biasGrad.rawData))
        }
        primitive.execute(arguments)
        // Hand the weight gradient back in the parameter's own (plain) layout.
        let weightGrad = Tensor(uninitializedShape: weightShape)
        DNNL.reorder(from: diffWeightsLayout, source: diffWeights.rawData, to: weightLayout,
                     destination: weightGrad.rawData)
        return (weightGrad, biasGrad)
    }
}
