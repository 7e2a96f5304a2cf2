import CDNNL

/// Batch normalisation over the channel axis of `[N, C]` or `[N, C, H, W]` input.
///
/// In training it normalises with the batch statistics and updates `runningMean`/`runningVar`
/// in place (`running = (1 - momentum) * running + momentum * batch`, with the unbiased batch
/// variance, as PyTorch does; Chainer's `decay` is `1 - momentum`). Otherwise it uses the running
/// statistics.
public func batchNorm(_ input: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                      training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) -> Tensor {
    require(input.rank == 2 || input.rank == 4, "batchNorm expects [N, C] or [N, C, H, W], got \(input.shape)")
    require(input.dtype == .float32, "batchNorm needs a float32 tensor, got \(input.dtype)")
    let channels = input.shape[1]
    for (name, tensor) in [("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVar", runningVar)] {
        if let tensor { require(tensor.shape == [channels], "batchNorm \(name) must be [\(channels)], got \(tensor.shape)") }
    }
    require((weight == nil) == (bias == nil), "batchNorm needs both weight and bias, or neither")
    let needsGrad = GradMode.isEnabled && [input, weight, bias].contains { $0?.requiresGrad == true }
    if training || !needsGrad,
       let operations = DeviceDispatch.operations("batchNorm", [input, weight, bias, runningMean, runningVar]) {
        return batchNorm(on: operations, input, weight: weight, bias: bias, runningMean: runningMean,
                         runningVar: runningVar, training: training, momentum: momentum, eps: eps)
    }
    if training {
        return BatchNormOp(input: input, eps: eps, affine: weight != nil, globalStatistics: false)
            .train(input, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar, momentum: momentum)
    }
    guard let runningMean, let runningVar else { fatalError("Kusari: batchNorm in evaluation mode needs running statistics") }
    if !needsGrad {
        return BatchNormOp(input: input, eps: eps, affine: weight != nil, globalStatistics: true)
            .infer(input, weight: weight, bias: bias, mean: runningMean, variance: runningVar)
    }
    // Differentiable evaluation-mode path (e.g. fine-tuning with frozen statistics).
    let viewShape = input.rank == 4 ? [1, channels, 1, 1] : [1, channels]
    let scale = (weight ?? Tensor.ones([channels], on: input.device)) / (runningVar.detach() + eps).sqrt()
    let shift = (bias ?? Tensor.zeros([channels], on: input.device)) - runningMean.detach() * scale
    return input * scale.reshape(viewShape) + shift.reshape(viewShape)
}

/// Batch normalisation on a GPU: the backend's forward (which also updates the running
/// statistics) and, in training, its backward from the saved batch statistics.
private func batchNorm(on operations: any DeviceOperations, _ input: Tensor, weight: Tensor?, bias: Tensor?,
                       runningMean: Tensor?, runningVar: Tensor?, training: Bool, momentum: Float, eps: Float) -> Tensor {
    guard training || (runningMean != nil && runningVar != nil) else {
        fatalError("Kusari: batchNorm in evaluation mode needs running statistics")
    }
    let source = input.contiguous().detach()
    let scale = weight?.contiguous().detach(), shift = bias?.contiguous().detach()
    let forward = DeviceDispatch.run("batchNorm") {
        try operations.batchNormForward(input: source, weight: scale, bias: shift, runningMean: runningMean,
                                        runningVar: runningVar, training: training, momentum: momentum, eps: eps)
    }
    guard training, let mean = forward.mean, let inverseStd = forward.inverseStd else { return forward.output }
    let inputs: [Tensor] = [input] + (weight.map { [$0, bias!] } ?? [])
    return Tensor.record("batchNorm", forward.output, inputs: inputs) { grad in
        let gradient = grad.contiguous()
        let gradients = DeviceDispatch.run("batchNorm backward") {
            try operations.batchNormBackward(gradient: gradient, input: source, weight: scale, mean: mean,
                                             inverseStd: inverseStd, eps: eps)
        }
        return [gradients.input] + (weight != nil ? [gradients.weight, gradients.bias] : [])
    }
}

/// The oneDNN batch-normalisation primitives for one input layout.
private struct BatchNormOp {
    let layout: MemoryDescriptor
    let source: Tensor
    let eps: Float
    let flags: UInt32
    let channels: Int
    let key: String

    init(input: Tensor, eps: Float, affine: Bool, globalStatistics: Bool) {
        (layout, source) = input.currentLayout()
        self.eps = eps
        channels = input.shape[1]
        var flags: UInt32 = affine ? dnnl_use_scale.rawValue | dnnl_use_shift.rawValue : 0
        if globalStatistics { flags |= dnnl_use_global_stats.rawValue }
        self.flags = flags
        key = "bnorm|\(layout.key)|\(eps)|\(flags)"
    }

    private var channelLayout: MemoryDescriptor { MemoryDescriptor(dims: [channels]) }

    private func forwardPrimitive(_ kind: dnnl_prop_kind_t) -> Primitive {
        PrimitiveCache.shared.primitive(key + "|fwd|\(kind.rawValue)") {
            var desc = dnnl_batch_normalization_desc_t()
            var data = layout.raw
            DNNL.check(dnnl_batch_normalization_forward_desc_init(&desc, kind, &data, eps, flags),
                       "batch norm forward descriptor")
            return makePrimitiveDescriptor(&desc, "batch norm forward")
        }
    }

    func infer(_ input: Tensor, weight: Tensor?, bias: Tensor?, mean: Tensor, variance: Tensor) -> Tensor {
        let primitive = forwardPrimitive(dnnl_forward_inference)
        let output = Tensor.withLayout(layout, shape: input.shape)
        var arguments = [(DNNL_ARG_SRC, layout, source.rawData), (DNNL_ARG_DST, layout, output.rawData),
                         (DNNL_ARG_MEAN, channelLayout, mean.contiguous().rawData),
                         (DNNL_ARG_VARIANCE, channelLayout, variance.contiguous().rawData)]
        if let weight, let bias {
            arguments += [(DNNL_ARG_SCALE, channelLayout, weight.contiguous().rawData),
                          (DNNL_ARG_SHIFT, channelLayout, bias.contiguous().rawData)]
        }
        primitive.execute(arguments)
        return output
    }

    func train(_ input: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
               momentum: Float) -> Tensor {
        let forward = forwardPrimitive(dnnl_forward_training)
        let output = Tensor.withLayout(layout, shape: input.shape)
        let mean = Tensor(uninitializedShape: [channels]), variance = Tensor(uninitializedShape: [channels])
        let scale = weight?.contiguous(), shift = bias?.contiguous()
        var arguments = [(DNNL_ARG_SRC, layout, source.rawData), (DNNL_ARG_DST, layout, output.rawData),
                         (DNNL_ARG_MEAN, channelLayout, mean.rawData), (DNNL_ARG_VARIANCE, channelLayout, variance.rawData)]
        if let scale, let shift {
            arguments += [(DNNL_ARG_SCALE, channelLayout, scale.rawData), (DNNL_ARG_SHIFT, channelLayout, shift.rawData)]
        }
        forward.execute(arguments)
        updateRunningStatistics(runningMean, runningVar, mean: mean, variance: variance,
                                samples: input.count / channels, momentum: momentum)

        let inputs: [Tensor] = [input] + (weight.map { [$0, bias!] } ?? [])
        return Tensor.record("batchNorm", output, inputs: inputs) { grad in
            let kind = weight == nil ? dnnl_backward_data : dnnl_backward
            let backward = PrimitiveCache.shared.primitive(key + "|bwd") {
                var desc = dnnl_batch_normalization_desc_t()
                var data = layout.raw
                DNNL.check(dnnl_batch_normalization_backward_desc_init(&desc, kind, &data, &data, eps, flags),
                           "batch norm backward descriptor")
                return makePrimitiveDescriptor(&desc, "batch norm backward", hint: forward.descriptor)
            }
            let diffDst = grad.inLayout(layout)
            let diffSrc = Tensor.withLayout(layout, shape: input.shape)
            let savedInput = source.inLayout(layout)  // may have been made plain since
            var arguments = [(DNNL_ARG_SRC, layout, savedInput.rawData), (DNNL_ARG_MEAN, channelLayout, mean.rawData),
                             (DNNL_ARG_VARIANCE, channelLayout, variance.rawData),
                             (DNNL_ARG_DIFF_DST, layout, diffDst.rawData), (DNNL_ARG_DIFF_SRC, layout, diffSrc.rawData)]
            var scaleGrad: Tensor?, shiftGrad: Tensor?
            if let scale {
                let (gs, gb) = (Tensor(uninitializedShape: [channels]), Tensor(uninitializedShape: [channels]))
                arguments += [(DNNL_ARG_SCALE, channelLayout, scale.rawData),
                              (DNNL_ARG_SHIFT, channelLayout, shift!.rawData),
                              (DNNL_ARG_DIFF_SCALE, channelLayout, gs.rawData),
                              (DNNL_ARG_DIFF_SHIFT, channelLayout, gb.rawData)]
                (scaleGrad, shiftGrad) = (gs, gb)
            }
            backward.execute(arguments)
            return [diffSrc] + (weight != nil ? [scaleGrad, shiftGrad] : [])
        }
    }

    private func updateRunningStatistics(_ runningMean: Tensor?, _ runningVar: Tensor?, mean: Tensor, variance: Tensor,
                                         samples: Int, momentum: Float) {
        let correction = samples > 1 ? Float(samples) / Float(samples - 1) : 1
        runningMean?.withUnsafeMutableFloats { running in
            for c in 0..<channels { running[c] = (1 - momentum) * running[c] + momentum * mean.floats[c] }
        }
        runningVar?.withUnsafeMutableFloats { running in
            for c in 0..<channels { running[c] = (1 - momentum) * running[c] + momentum * variance.floats[c] * correction }
        }
    }
}
