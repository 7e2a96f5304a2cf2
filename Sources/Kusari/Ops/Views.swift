/// Ops that reinterpret a tensor's shape without copying when the layout allows it.
extension Tensor {
    /// Same data with a new shape; one dimension may be `-1` (inferred). Copies only when the
    /// current layout cannot be viewed with the new shape.
    public func reshape(_ newShape: [Int]) -> Tensor {
        let target = inferShape(newShape)
        if target == shape { return self }
        let result = reshapeRaw(target)
        let inputShape = shape
        return Tensor.record("reshape", result, inputs: [self]) { [$0.reshape(inputShape)] }
    }

    /// Reshape that records no gradient (used inside ops).
    func reshapeRaw(_ newShape: [Int]) -> Tensor {
        let target = inferShape(newShape)
        let dense = isContiguous ? self : contiguousCopy().detach()
        return Tensor(storage: dense.storage, shape: target, offset: dense.offset, dtype: dtype)
    }

    private func inferShape(_ newShape: [Int]) -> [Int] {
        var target = newShape
        if let unknown = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != unknown }.reduce(1) { $0 * $1.element }
            require(known > 0 && count % known == 0, "cannot reshape \(shape) into \(newShape)")
            target[unknown] = count / known
        }
        require(Shape.count(target) == count, "cannot reshape \(shape) (\(count) elements) into \(newShape)")
        return target
    }

    /// Collapses axes `startAxis...endAxis` into one (default: all but the first).
    public func flatten(startAxis: Int = 1, endAxis: Int = -1) -> Tensor {
        let first = Shape.normalize(axis: startAxis, rank: rank), last = Shape.normalize(axis: endAxis, rank: rank)
        let merged = shape[first...last].reduce(1, *)
        return reshape(Array(shape[..<first]) + [merged] + Array(shape[(last + 1)...]))
    }

    /// Broadcasts size-1 axes (and new leading axes) up to `target` without copying.
    public func expand(_ target: [Int]) -> Tensor {
        if target == shape { return self }
        require(Shape.broadcast(shape, target) == target, "cannot expand \(shape) to \(target)")
        let source = storage.blockedLayout == nil ? self : contiguous()
        let result = Tensor(storage: source.storage, shape: target,
                            strides: Shape.broadcastStrides(shape: source.shape, strides: source.strides, to: target),
                            offset: source.offset, dtype: dtype)
        let inputShape = shape
        return Tensor.record("expand", result, inputs: [self]) { [$0.sumToShape(inputShape)] }
    }

    /// Reorders axes: result axis `i` is input axis `order[i]`.
    public func permute(_ order: [Int]) -> Tensor {
        let order = order.map { Shape.normalize(axis: $0, rank: rank) }
        require(order.sorted() == Array(0..<rank), "permute order \(order) is not a permutation of 0..<\(rank)")
        let source = storage.blockedLayout == nil ? self : contiguous()
        let result = Tensor(storage: source.storage, shape: order.map { shape[$0] }, strides: order.map { source.strides[$0] },
                            offset: source.offset, dtype: dtype)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        return Tensor.record("permute", result, inputs: [self]) { [$0.permute(inverse)] }
    }

    /// Swaps two axes (default: the last two, a matrix transpose).
    public func transpose(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(Shape.normalize(axis: a, rank: rank), Shape.normalize(axis: b, rank: rank))
        return permute(order)
    }

    /// Elements `start..<end` stepping by `step` along `axis`, as a view. Negative bounds count
    /// from the end, like Python slices.
    public func slice(axis: Int, start: Int = 0, end: Int? = nil, step: Int = 1) -> Tensor {
        let axis = Shape.normalize(axis: axis, rank: rank)
        require(step > 0, "slice step must be positive")
        let size = shape[axis]
        func clampIndex(_ i: Int) -> Int { Swift.min(Swift.max(i < 0 ? i + size : i, 0), size) }
        let from = clampIndex(start), to = clampIndex(end ?? size)
        let length = Swift.max(0, (to - from + step - 1) / step)
        let source = storage.blockedLayout == nil ? self : contiguous()
        var newShape = shape, newStrides = source.strides
        newShape[axis] = length
        newStrides[axis] *= step
        let result = Tensor(storage: source.storage, shape: newShape, strides: newStrides,
                            offset: source.offset + from * source.strides[axis], dtype: dtype)
        let inputShape = shape
        return Tensor.record("slice", result, inputs: [self]) { grad in
            let full = Tensor.zeros(inputShape, on: grad.device)
            let window = full.slice(axis: axis, start: from, end: to, step: step).detach()
            if let operations = DeviceDispatch.operations("slice backward", [grad]) {
                DeviceDispatch.run("slice backward") { try operations.copy(grad.detach(), into: window) }
            } else {
                StridedCopy.scatter(grad.contiguous(), into: window)
            }
            return [full]
        }
    }

    /// Removes size-1 axes (only `axis` when given).
    public func squeeze(axis: Int? = nil) -> Tensor {
        if let axis {
            let axis = Shape.normalize(axis: axis, rank: rank)
            guard shape[axis] == 1 else { return self }
            var newShape = shape
            newShape.remove(at: axis)
            return reshape(newShape)
        }
        return reshape(shape.filter { $0 != 1 })
    }

    /// Inserts a size-1 axis at `axis` (which may equal the rank).
    public func unsqueeze(axis: Int) -> Tensor {
        let position = axis < 0 ? axis + rank + 1 : axis
        require(position >= 0 && position <= rank, "unsqueeze axis \(axis) out of range for rank \(rank)")
        var newShape = shape
        newShape.insert(1, at: position)
        return reshape(newShape)
    }
}

extension StridedCopy {
    /// Writes dense float `source` into the (possibly strided) plain view `destination`.
    static func scatter(_ source: Tensor, into destination: Tensor) {
        let src = source.floats, dst = destination.floats
        forEachRow(shape: destination.shape, strides: [Shape.contiguousStrides(destination.shape), destination.strides]) {
            _, offsets, count, inner in
            let s = src + offsets[0], d = dst + offsets[1], step = inner[1]
            for i in 0..<count { d[i * step] = s[i] }
        }
    }
}
