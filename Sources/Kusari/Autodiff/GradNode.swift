/// One recorded step of the autodiff graph: the op's inputs and how to turn the gradient of
/// its output into gradients of those inputs.
final class GradNode {
    /// Name of the op, for debugging and graph dumps.
    let name: String
    /// The op's tensor inputs; `nil` where an input needs no gradient.
    let inputs: [Tensor?]
    /// Maps the output gradient to one gradient per input (same order as `inputs`).
    private(set) var backward: ((Tensor) -> [Tensor?])?

    init(name: String, inputs: [Tensor?], backward: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }

    /// Drops the closure and the tensors it saved, once the graph has been used.
    func release() { backward = nil }
}

extension Tensor {
    /// Wraps an op's freshly computed `result`: when gradients are enabled and any input
    /// requires them, attaches a ``GradNode`` running `backward`.
    static func record(_ name: String, _ result: Tensor, inputs: [Tensor],
                       backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return result }
        result.requiresGrad = true
        result.gradNode = GradNode(name: name, inputs: inputs.map { $0.requiresGrad ? $0 : nil },
                                   backward: backward)
        return result
    }
}
