import CDNNL

/// Local response normalisation across channels (AlexNet, the TensorFlow CIFAR-10 model):
/// `y = x / (k + alpha / size * sum_{window} x^2)^beta`, with `size` neighbouring channels
/// centred on each one (PyTorch's and oneDNN's convention; TensorFlow's `depth_radius = r` is
/// `size = 2r + 1` with `alpha_tf = alpha / size`).
public func localResponseNorm(_ input: Tensor, size: Int, alpha: Float = 1e-4, beta: Float = 0.75,
                              k: Float = 1) -> Tensor {
    require(input.rank == 4, "localResponseNorm expects NCHW input, got \(input.shape)")
    require(size > 0 && size % 2 == 1, "localResponseNorm size must be odd and positive, got \(size)")
    let (layout, source) = input.currentLayout()
    let key = "lrn|\(layout.key)|\(size)|\(alpha)|\(beta)|\(k)"
    let forward = PrimitiveCache.shared.primitive(key + "|fwd") {
        var desc = dnnl_lrn_desc_t()
        var data = layout.raw
        DNNL.check(dnnl_lrn_forward_desc_init(&desc, dnnl_forward_training, dnnl_lrn_across_channels, &data,
                                              dnnl_dim_t(size), alpha, beta, k), "LRN forward descriptor")
        return makePrimitiveDescriptor(&desc, "LRN forward")
    }
    let dstLayout = forward.layout(dnnl_query_dst_md)
    let output = Tensor.withLayout(dstLayout, shape: input.shape)
    let workspaceLayout = forward.workspaceLayout
    let workspace = workspaceLayout.map { Storage(byteCount: $0.byteSize) }
    var arguments = [(DNNL_ARG_SRC, layout, source.rawData), (DNNL_ARG_DST, dstLayout, output.rawData)]
    if let workspaceLayout, let workspace { arguments.append((DNNL_ARG_WORKSPACE, workspaceLayout, workspace.data)) }
    forward.execute(arguments)

    let saved = source.detach()
    return Tensor.record("localResponseNorm", output, inputs: [input]) { grad in
        let backward = PrimitiveCache.shared.primitive(key + "|bwd") {
            var desc = dnnl_lrn_desc_t()
            var data = layout.raw
            var diff = dstLayout.raw
            DNNL.check(dnnl_lrn_backward_desc_init(&desc, dnnl_lrn_across_channels, &diff, &data, dnnl_dim_t(size),
                                                   alpha, beta, k), "LRN backward descriptor")
            return makePrimitiveDescriptor(&desc, "LRN backward", hint: forward.descriptor)
        }
        let diffDstLayout = backward.layout(dnnl_query_diff_dst_md)
        let diffSrcLayout = backward.layout(dnnl_query_diff_src_md)
        let diffDst = grad.inLayout(diffDstLayout)
        let diffSrc = Tensor.withLayout(diffSrcLayout, shape: input.shape)
        let savedInput = saved.inLayout(layout)  // may have been made plain since
        var arguments = [(DNNL_ARG_SRC, layout, savedInput.rawData), (DNNL_ARG_DIFF_DST, diffDstLayout, diffDst.rawData),
                         (DNNL_ARG_DIFF_SRC, diffSrcLayout, diffSrc.rawData)]
        if let workspaceLayout, let workspace { arguments.append((DNNL_ARG_WORKSPACE, workspaceLayout, workspace.data)) }
        backward.execute(arguments)
        return [diffSrc]
    }
}
