import Kusari

extension CUDABackend: FusedOptimizerOperations {
    /// Applies `rule` in place with one kernel of ``KernelSource/optimizer``, whose arithmetic
    /// matches KusariOptim's CPU kernels bit for bit (no fused multiply-adds, IEEE division and
    /// square root). The gradient scale is the rule's host value.
    /// - Throws: ``Kusari/KusariError`` for operands that are not contiguous float32 tensors of
    ///   the parameter's shape on this device, or the wrong number of state buffers;
    ///   ``CUDAError`` when the launch fails.
    public func optimizerStep(_ rule: FusedOptimizerRule, parameter: Tensor, gradient: Tensor,
                              state: [Tensor]) throws {
        try rule.checkOperands(parameter: parameter, gradient: gradient, state: state, on: device)
        let count = parameter.count
        guard count > 0 else { return }
        let operands = ([parameter, gradient] + state).map { KernelArgument.pointer(Self.address($0)) }
        switch rule {
        case let .sgd(learningRate, scale, decay):
            try launch("kusari_sgd_f32", in: .optimizer, count: count,
                       operands + [.count(count), .float(learningRate), .float(scale), .null, .float(decay)])
        case let .momentum(learningRate, scale, decay, momentum, nesterov):
            try launch("kusari_momentum_sgd_f32", in: .optimizer, count: count,
                       operands + [.count(count), .float(learningRate), .float(scale), .null, .float(decay),
                                   .float(momentum), .int32(nesterov ? 1 : 0)])
        case let .adam(scale, decay, shrink, beta1, beta2, stepSize, inverseRootCorrection2, eps):
            try launch("kusari_adam_f32", in: .optimizer, count: count,
                       operands + [.count(count), .float(scale), .null, .float(decay), .float(shrink),
                                   .float(beta1), .float(1 - beta1), .float(beta2), .float(1 - beta2),
                                   .float(stepSize), .float(inverseRootCorrection2), .float(eps)])
        }
    }

    /// One launch of `kusari_flag_nonfinite_f32` per non-empty tensor, all setting one zeroed
    /// flag (see ``Kusari/FusedOptimizerOperations/nonFiniteFlag(_:)``).
    /// - Throws: ``Kusari/KusariError`` for a tensor that is not contiguous float32 on this
    ///   device; ``CUDAError`` when a launch fails.
    public func nonFiniteFlag(_ tensors: [Tensor]) throws -> Tensor {
        for tensor in tensors { try checkFiniteScanOperand(tensor) }
        let flag = try Tensor(uninitializedShape: [1], dtype: .float32, on: self)
        try fill(flag, with: 0)
        for tensor in tensors where tensor.count > 0 {
            try launch("kusari_flag_nonfinite_f32", in: .optimizer, count: tensor.count,
                       [.pointer(Self.address(tensor)), .count(tensor.count), .pointer(Self.address(flag))])
        }
        return flag
    }
}
