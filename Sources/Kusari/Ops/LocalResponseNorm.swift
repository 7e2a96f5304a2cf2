/// Local response normalisation across channels (AlexNet, the TensorFlow CIFAR-10 model):
/// `y = x / (k + alpha / size * sum_{window} x^2)^beta`, with `size` neighbouring channels
/// centred on each one (PyTorch's and oneDNN's convention; TensorFlow's `depth_radius = r` is
/// `size = 2r + 1` with `alpha_tf = alpha / size`).
public func localResponseNorm(_ input: Tensor, size: Int, alpha: Float = 1e-4, beta: Float = 0.75,
                              k: Float = 1) -> Tensor {
    require(input.rank == 4, "localResponseNorm expects NCHW input, got \(input.shape)")
    require(input.dtype == .float32, "localResponseNorm needs float32, got \(input.dtype)")
    require(size > 0 && size % 2 == 1, "localResponseNorm size must be odd and positive, got \(size)")
    let x = input.contiguous()
    if let operations = DeviceDispatch.operations("localResponseNorm", [input]) {
        let source = x.detach()
        let output = DeviceDispatch.run("localResponseNorm") {
            try operations.localResponseNormForward(input: source, size: size, alpha: alpha, beta: beta, k: k)
        }
        let saved = output.detach()
        return Tensor.record("localResponseNorm", output, inputs: [input]) { grad in
            let gradient = grad.contiguous()
            return [DeviceDispatch.run("localResponseNorm backward") {
                try operations.localResponseNormBackward(gradient: gradient, input: source, output: saved, size: size,
                                                         alpha: alpha, beta: beta, k: k)
            }]
        }
    }
    let (batch, channels, plane) = (input.shape[0], input.shape[1], input.shape[2] * input.shape[3])
    let output = Tensor(uninitializedShape: input.shape), base = Tensor(uninitializedShape: input.shape)
    OpProfiler.measure("lrn") {
        LRNKernels.forward(x.floats, output.floats, base: base.floats, batch: batch, channels: channels, plane: plane,
                           size: size, alpha: alpha, beta: beta, k: k)
    }
    let saved = x.detach()
    return Tensor.record("localResponseNorm", output, inputs: [input]) { grad in
        let dy = grad.contiguous()
        let dx = Tensor(uninitializedShape: input.shape)
        OpProfiler.measure("lrn-bwd") {
            LRNKernels.backward(saved.floats, base: base.floats, dy.floats, dx.floats, batch: batch,
                                channels: channels, plane: plane, size: size, alpha: alpha, beta: beta)
        }
        return [dx]
    }
}
