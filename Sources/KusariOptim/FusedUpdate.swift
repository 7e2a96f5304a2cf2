import Kusari

extension Optimizer {
    /// Runs `rule` as one fused in-place kernel on the backend of `parameter`'s device, when that
    /// backend provides ``Kusari/FusedOptimizerOperations`` and the parameter, gradient and state
    /// buffers are contiguous float32 tensors of one shape. Returns `false`, having touched
    /// nothing, otherwise: the caller then updates with tensor ops.
    ///
    /// The operands are checked before the call, so an error from the backend means the device
    /// itself failed; that stops with a message, as a failed device op does.
    func updateFused(_ rule: FusedOptimizerRule, parameter: Tensor, gradient: Tensor, state: [Tensor]) -> Bool {
        guard let backend = DeviceBackends.backend(for: parameter.device) as? any FusedOptimizerOperations,
              (try? rule.checkOperands(parameter: parameter, gradient: gradient, state: state,
                                       on: backend.device)) != nil else { return false }
        do {
            try backend.optimizerStep(rule, parameter: parameter, gradient: gradient, state: state)
        } catch {
            fatalError("\(type(of: self)): fused update failed on \(parameter.device): \(error)")
        }
        return true
    }
}
