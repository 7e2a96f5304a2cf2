import CDNNL

/// `exp(x) / sum(exp(x))` along `axis`, computed stably.
public func softmax(_ input: Tensor, axis: Int = -1) -> Tensor { SoftmaxOp(input: input, axis: axis, log: false).apply() }

/// `log(softmax(x))` along `axis`, computed stably (log-sum-exp).
public func logSoftmax(_ input: Tensor, axis: Int = -1) -> Tensor { SoftmaxOp(input: input, axis: axis, log: true).apply() }

/// oneDNN softmax (accurate or log) over one axis of plain data.
private struct SoftmaxOp {
    let input: Tensor
    let axis: Int
    let log: Bool

    init(input: Tensor, axis: Int, log: Bool) {
        require(input.dtype == .float32, "softmax needs float32, got \(input.dtype)")
        require(input.rank >= 1, "softmax needs at least one axis")
        self.input = input.contiguous()
        self.axis = Shape.normalize(axis: axis, rank: input.rank)
        self.log = log
    }

    func apply() -> Tensor {
        if let operations = DeviceDispatch.operations(name, [input]) { return apply(on: operations) }
        let layout = MemoryDescriptor(dims: input.shape)
        let algorithm = log ? dnnl_softmax_log : dnnl_softmax_accurate
        let key = "softmax|\(input.shape)|\(axis)|\(log)"
        let forward = PrimitiveCache.shared.primitive(key + "|fwd") {
            var desc = dnnl_softmax_v2_desc_t()
            var data = layout.raw
            DNNL.check(dnnl_softmax_v2_forward_desc_init(&desc, dnnl_forward_training, algorithm, &data, &data,
                                                         Int32(axis)), "softmax forward descriptor")
            return makePrimitiveDescriptor(&desc, "softmax forward")
        }
        let output = Tensor(uninitializedShape: input.shape)
        forward.execute([(DNNL_ARG_SRC, layout, input.rawData), (DNNL_ARG_DST, layout, output.rawData)])
        let saved = output.detach()
        return Tensor.record(name, output, inputs: [input]) { grad in
            let backward = PrimitiveCache.shared.primitive(key + "|bwd") {
                var desc = dnnl_softmax_v2_desc_t()
                var data = layout.raw
                DNNL.check(dnnl_softmax_v2_backward_desc_init(&desc, algorithm, &data, &data, &data, Int32(axis)),
                           "softmax backward descriptor")
                return makePrimitiveDescriptor(&desc, "softmax backward", hint: forward.descriptor)
            }
            let diffDst = grad.contiguous()
            let diffSrc = Tensor(uninitializedShape: input.shape)
            backward.execute([(DNNL_ARG_DST, layout, saved.rawData), (DNNL_ARG_DIFF_DST, layout, diffDst.rawData),
                              (DNNL_ARG_DIFF_SRC, layout, diffSrc.rawData)])
            return [diffSrc]
        }
    }

    private var name: String { log ? "logSoftmax" : "softmax" }

    /// The softmax on a GPU, over the input viewed as `[outer, length, inner]`.
    private func apply(on operations: any DeviceOperations) -> Tensor {
        let outer = Shape.count(Array(input.shape[..<axis])), length = input.shape[axis]
        let inner = Shape.count(Array(input.shape[(axis + 1)...]))
        let source = input.detach()
        let output = DeviceDispatch.run(name) {
            try operations.softmaxForward(input: source, outer: outer, length: length, inner: inner, log: log)
        }
        let saved = output.detach()
        return Tensor.record(name, output, inputs: [input]) { grad in
            let gradient = grad.contiguous()
            return [DeviceDispatch.run(name + " backward") {
                try operations.softmaxBackward(gradient: gradient, output: saved, outer: outer, length: length,
                                               inner: inner, log: log)
            }]
        }
    }
}
