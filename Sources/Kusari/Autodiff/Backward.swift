extension Tensor {
    /// Back-propagates from this tensor, accumulating into ``grad`` of every leaf that
    /// requires gradients.
    ///
    /// - Parameters:
    ///   - gradient: the gradient of the final objective with respect to this tensor; defaults
    ///     to ones, which requires this tensor to hold a single element (a loss).
    ///   - retainGraph: keep the recorded graph so `backward` can run through it again.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) {
        require(requiresGrad, "backward() on a tensor that does not require gradients")
        let seed = gradient ?? {
            require(count == 1, "backward() without a gradient needs a single-element tensor, got shape \(shape)")
            return Tensor.full(shape, 1, on: device)
        }()
        require(seed.shape == shape, "gradient shape \(seed.shape) does not match tensor shape \(shape)")

        let order = topologicalOrder()
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        withNoGrad {
            for tensor in order.reversed() {
                guard let outputGrad = pending.removeValue(forKey: ObjectIdentifier(tensor)) else { continue }
                guard let node = tensor.gradNode else {
                    tensor.accumulateGrad(outputGrad)
                    continue
                }
                guard let step = node.backward else {
                    fatalError("Kusari: backward through a graph that was already freed; pass retainGraph: true")
                }
                let inputGrads = step(outputGrad)
                for (input, inputGrad) in zip(node.inputs, inputGrads) {
                    guard let input, let inputGrad else { continue }
                    let key = ObjectIdentifier(input)
                    let fitted = inputGrad.shape == input.shape ? inputGrad : inputGrad.reshape(input.shape)
                    if let existing = pending[key] { pending[key] = existing + fitted } else { pending[key] = fitted }
                }
                if !retainGraph { node.release() }
            }
        }
    }

    private func accumulateGrad(_ incoming: Tensor) {
        guard requiresGrad else { return }
        if let existing = grad {
            grad = existing + incoming
        } else {
            grad = incoming.isContiguous && incoming.storage !== storage ? incoming : incoming.contiguousCopy()
        }
    }

    /// Tensors reachable from this one through grad nodes, inputs before outputs.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded { order.append(tensor); continue }
            guard visited.insert(ObjectIdentifier(tensor)).inserted else { continue }
            stack.append((tensor, true))
            for case let input? in tensor.gradNode?.inputs ?? [] where !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order
    }
}
