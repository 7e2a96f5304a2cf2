import Foundation
import Kusari

/// Fused optimizer steps run per emulated device, by device (the emulator's own counters are
/// private to its file).
private let fusedSteps = FusedStepCounter()

/// A lock-protected count per device.
private final class FusedStepCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Device: Int] = [:]

    func increment(_ device: Device) {
        lock.withLock { counts[device, default: 0] += 1 }
    }

    func count(_ device: Device) -> Int {
        lock.withLock { counts[device, default: 0] }
    }
}

extension EmulatedDevice: FusedOptimizerOperations {
    /// How many times ``optimizerStep(_:parameter:gradient:state:)`` ran on this device.
    public var fusedOptimizerSteps: Int { fusedSteps.count(device) }

    /// Applies `rule` in place, element by element in "device memory" (host memory here), with
    /// the float32 arithmetic of the GPU kernels (`KernelSource.optimizer`) and of KusariOptim's
    /// CPU kernels: each formula of ``Kusari/FusedOptimizerRule`` in the order written.
    /// - Throws: ``Kusari/KusariError`` for operands the protocol rules out (see
    ///   ``Kusari/FusedOptimizerRule/checkOperands(parameter:gradient:state:on:)``).
    public func optimizerStep(_ rule: FusedOptimizerRule, parameter: Tensor, gradient: Tensor,
                              state: [Tensor]) throws {
        try rule.checkOperands(parameter: parameter, gradient: gradient, state: state, on: device)
        fusedSteps.increment(device)
        let p = Self.floats(parameter), g = UnsafePointer(Self.floats(gradient)), buffers = state.map(Self.floats)
        let count = parameter.count
        switch rule {
        case let .sgd(lr, s, decay):
            for i in 0..<count {
                let pi = p[i]
                let d = s * g[i] + decay * pi
                p[i] = pi - lr * d
            }
        case let .momentum(lr, s, decay, momentum, nesterov):
            let v = buffers[0]
            for i in 0..<count {
                let pi = p[i]
                let d = s * g[i] + decay * pi
                let velocity = momentum * v[i] + d
                v[i] = velocity
                p[i] = pi - lr * (nesterov ? d + momentum * velocity : velocity)
            }
        case let .adam(s, decay, shrink, beta1, beta2, stepSize, inverseRootCorrection2, eps):
            let m = buffers[0], v = buffers[1]
            let oneMinusBeta1 = 1 - beta1, oneMinusBeta2 = 1 - beta2
            for i in 0..<count {
                let pi = p[i]
                let d = s * g[i] + decay * pi
                let mi = beta1 * m[i] + oneMinusBeta1 * d
                let vi = beta2 * v[i] + oneMinusBeta2 * (d * d)
                m[i] = mi
                v[i] = vi
                p[i] = pi * shrink - stepSize * mi / (vi.squareRoot() * inverseRootCorrection2 + eps)
            }
        }
    }

    /// Scans `tensors` in "device memory" as the GPU kernel does: 1 when an element is infinite
    /// or NaN, 0 otherwise.
    /// - Throws: ``Kusari/KusariError`` for a tensor that is not contiguous float32 on this device.
    public func nonFiniteFlag(_ tensors: [Tensor]) throws -> Tensor {
        for tensor in tensors { try checkFiniteScanOperand(tensor) }
        let found = tensors.contains { tensor in
            UnsafeBufferPointer(start: Self.floats(tensor), count: tensor.count).contains { !$0.isFinite }
        }
        return try Tensor([Float(found ? 1 : 0)], shape: [1]).to(device: device)
    }

    /// The first element of the contiguous float32 `tensor` in this device's (host) memory.
    private static func floats(_ tensor: Tensor) -> UnsafeMutablePointer<Float> {
        tensor.storage.data.assumingMemoryBound(to: Float.self) + tensor.offset
    }
}
