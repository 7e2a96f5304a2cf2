/// An optional capability of a GPU backend: whole optimizer updates as one in-place kernel.
///
/// Without it, an optimizer updates a device parameter with a chain of tensor ops (one
/// allocation and launch per op). A backend that also conforms to this protocol lets
/// KusariOptim's SGD, MomentumSGD and Adam/AdamW run each parameter's update in a single pass
/// over its elements, with the same arithmetic, operation for operation, as their CPU kernels.
/// Optimizers look for it with `DeviceBackends.backend(for:) as? any FusedOptimizerOperations`
/// and use tensor ops where it is missing.
public protocol FusedOptimizerOperations: DeviceOperations {
    /// Applies `rule` in place: updates `parameter` and the `state` buffers
    /// (``FusedOptimizerRule/stateCount`` of them, in the rule's order) from `gradient`, which
    /// is only read. All are contiguous float32 tensors of one shape on this backend's device
    /// (see ``FusedOptimizerRule/checkOperands(parameter:gradient:state:on:)``). The work is
    /// queued like any op's.
    /// - Throws: ``KusariError`` for operands that break these rules; the backend's error when
    ///   the launch fails.
    func optimizerStep(_ rule: FusedOptimizerRule, parameter: Tensor, gradient: Tensor, state: [Tensor]) throws

    /// Queues a scan of `tensors`, contiguous float32 tensors on this backend's device, for
    /// infinities and NaNs, and returns a one-element float32 tensor on the device: 0 when every
    /// element is finite, 1 otherwise (reading it waits for the scan). Each tensor is read once
    /// and nothing but the flag is written: the finite check of a loss scaler's step.
    /// - Throws: ``KusariError`` for a tensor that is not contiguous float32 on this device; the
    ///   backend's error when a launch fails.
    func nonFiniteFlag(_ tensors: [Tensor]) throws -> Tensor
}

extension FusedOptimizerOperations {
    /// Checks that `tensor` suits ``nonFiniteFlag(_:)``.
    /// - Throws: ``KusariError/invalidArgument(_:)`` naming what is wrong.
    public func checkFiniteScanOperand(_ tensor: Tensor) throws {
        guard tensor.device == device, tensor.dtype == .float32, tensor.isContiguous else {
            throw KusariError.invalidArgument("nonFiniteFlag scans contiguous float32 tensors on \(device), got a "
                                              + "\(tensor.isContiguous ? "" : "strided ")\(tensor.dtype) tensor on \(tensor.device)")
        }
    }
}

/// One parameter update of a fused optimizer step, with its per-step constants already worked out
/// on the host (as the CPU kernels of KusariOptim compute them). Every formula below is evaluated
/// in float32 in the order written, without fused multiply-adds; `s` is the gradient `scale`
/// (1, or the gradient-clipping factor) and `d = s·g + decay·p` the regularised gradient.
public enum FusedOptimizerRule: Sendable, Equatable {
    /// Plain SGD: `p ← p − learningRate · d`. No state.
    case sgd(learningRate: Float, scale: Float, decay: Float)
    /// SGD with momentum, state `[v]`: `v ← momentum·v + d`, then `p ← p − learningRate · v`, or
    /// with Nesterov `p ← p − learningRate · (d + momentum·v)` with the new `v`.
    case momentum(learningRate: Float, scale: Float, decay: Float, momentum: Float, nesterov: Bool)
    /// Bias-corrected Adam, state `[m, v]`: `m ← β₁·m + (1 − β₁)·d`, `v ← β₂·v + (1 − β₂)·(d·d)`,
    /// `p ← p·shrink − stepSize·m / (√v · inverseRootCorrection2 + eps)`, where `1 − β₁` and
    /// `1 − β₂` are rounded to float32 first. Adam passes its L2 `decay` and `shrink = 1`; AdamW
    /// passes `decay = 0` and `shrink = 1 − lr·λ`. `stepSize = lr / (1 − β₁ᵗ)` and
    /// `inverseRootCorrection2 = 1 / √(1 − β₂ᵗ)` carry the bias corrections of step `t`.
    case adam(scale: Float, decay: Float, shrink: Float, beta1: Float, beta2: Float, stepSize: Float,
              inverseRootCorrection2: Float, eps: Float)

    /// How many state buffers the rule updates: 0 for SGD, 1 (`v`) for momentum, 2 (`m`, `v`) for Adam.
    public var stateCount: Int {
        switch self {
        case .sgd: return 0
        case .momentum: return 1
        case .adam: return 2
        }
    }

    /// Checks the operands of a fused step: `parameter`, `gradient` and exactly ``stateCount``
    /// `state` buffers, all contiguous float32 tensors of the parameter's shape on `device`.
    /// - Throws: ``KusariError/invalidArgument(_:)`` or ``KusariError/shapeMismatch(_:)`` naming
    ///   the first operand that breaks a rule.
    public func checkOperands(parameter: Tensor, gradient: Tensor, state: [Tensor], on device: Device) throws {
        guard state.count == stateCount else {
            throw KusariError.invalidArgument("fused optimizer step \(self) needs \(stateCount) state buffers, "
                                              + "got \(state.count)")
        }
        let operands = [("parameter", parameter), ("gradient", gradient)]
            + state.enumerated().map { ("state buffer \($0.offset)", $0.element) }
        for (role, tensor) in operands {
            guard tensor.device == device else {
                throw KusariError.invalidArgument("fused optimizer step: \(role) is on \(tensor.device), not \(device)")
            }
            guard tensor.dtype == .float32 else {
                throw KusariError.invalidArgument("fused optimizer step: \(role) must be float32, got \(tensor.dtype)")
            }
            guard tensor.isContiguous else {
                throw KusariError.invalidArgument("fused optimizer step: \(role) \(tensor.shape) is not contiguous "
                                                  + "(strides \(tensor.strides))")
            }
            guard tensor.shape == parameter.shape else {
                throw KusariError.shapeMismatch("fused optimizer step: \(role) has shape \(tensor.shape), "
                                                + "parameter \(parameter.shape)")
            }
        }
    }
}
