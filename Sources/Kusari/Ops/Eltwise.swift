import CDNNL

/// Runs a oneDNN eltwise algorithm over `input` in whatever layout it has (blocked activations
/// stay blocked), with its oneDNN backward; on a GPU, the backend's `activation`.
func dnnlEltwise(_ name: String, _ input: Tensor, algorithm: dnnl_alg_kind_t, alpha: Float = 0, beta: Float = 0,
                 device activation: Activation) -> Tensor {
    require(input.dtype == .float32, "\(name) needs a float32 tensor, got \(input.dtype)")
    if let operations = DeviceDispatch.operations(name, [input]) {
        let source = input.contiguous().detach()
        let output = DeviceDispatch.run(name) { try operations.activationForward(activation, input: source) }
        return Tensor.record(name, output, inputs: [input]) { grad in
            let gradient = grad.contiguous()
            return [DeviceDispatch.run(name + " backward") {
                try operations.activationBackward(activation, gradient: gradient, input: source)
            }]
        }
    }
    let (layout, source) = input.currentLayout()
    let key = "eltwise|\(algorithm.rawValue)|\(alpha)|\(beta)|\(layout.key)"
    let forward = PrimitiveCache.shared.primitive(key + "|fwd") {
        var desc = dnnl_eltwise_desc_t()
        var data = layout.raw
        DNNL.check(dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_training, algorithm, &data, alpha, beta),
                   "\(name) forward descriptor")
        return makePrimitiveDescriptor(&desc, name)
    }
    let output = Tensor.withLayout(layout, shape: input.shape)
    forward.execute([(DNNL_ARG_SRC, layout, source.rawData), (DNNL_ARG_DST, layout, output.rawData)])
    let saved = source.detach()
    return Tensor.record(name, output, inputs: [input]) { grad in
        let backward = PrimitiveCache.shared.primitive(key + "|bwd") {
            var desc = dnnl_eltwise_desc_t()
            var data = layout.raw
            DNNL.check(dnnl_eltwise_backward_desc_init(&desc, algorithm, &data, &data, alpha, beta),
                       "\(name) backward descriptor")
            return makePrimitiveDescriptor(&desc, name + " backward", hint: forward.descriptor)
        }
        let diffDst = grad.inLayout(layout)
        let diffSrc = Tensor.withLayout(layout, shape: input.shape)
        // The saved input may have been reordered to plain since by another consumer.
        let savedInput = saved.inLayout(layout)
        backward.execute([(DNNL_ARG_SRC, layout, savedInput.rawData), (DNNL_ARG_DIFF_DST, layout, diffDst.rawData),
                          (DNNL_ARG_DIFF_SRC, layout, diffSrc.rawData)])
        return [diffSrc]
    }
}

/// `max(x, 0)`.
public func relu(_ input: Tensor) -> Tensor { dnnlEltwise("relu", input, algorithm: dnnl_eltwise_relu, device: .relu) }

/// `x` for positive inputs, `slope * x` otherwise.
public func leakyRelu(_ input: Tensor, slope: Float = 0.01) -> Tensor {
    dnnlEltwise("leakyRelu", input, algorithm: dnnl_eltwise_relu, alpha: slope, device: .leakyRelu(slope: slope))
}

/// `x` for positive inputs, `alpha * (exp(x) - 1)` otherwise.
public func elu(_ input: Tensor, alpha: Float = 1) -> Tensor {
    dnnlEltwise("elu", input, algorithm: dnnl_eltwise_elu, alpha: alpha, device: .elu(alpha: alpha))
}

/// Gaussian error linear unit (erf form).
public func gelu(_ input: Tensor) -> Tensor { dnnlEltwise("gelu", input, algorithm: dnnl_eltwise_gelu_erf, device: .gelu) }

extension Tensor {
    /// `max(self, 0)`.
    public func relu() -> Tensor { Kusari.relu(self) }
}
