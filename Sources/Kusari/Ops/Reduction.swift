/// Sums, means and extrema along axes.
extension Tensor {
    /// Views dense data as `[outer, length, inner]` around the axis range `first...last`.
    private func splitAround(_ first: Int, _ last: Int) -> (outer: Int, length: Int, inner: Int) {
        (Shape.count(Array(shape[..<first])), Shape.count(Array(shape[first...last])),
         Shape.count(Array(shape[(last + 1)...])))
    }

    private func normalizedAxes(_ axes: [Int]?) -> [Int] {
        guard let axes else { return Array(0..<rank) }
        return Array(Set(axes.map { Shape.normalize(axis: $0, rank: rank) })).sorted()
    }

    private func reduceShape(_ axes: [Int], keepDims: Bool) -> [Int] {
        keepDims ? shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
                 : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    }

    /// Runs `kind` over the given axes, merging runs of neighbouring axes into one pass each.
    private func reduceRaw(_ kind: AxisReduction.Kind, axes: [Int]) -> Tensor {
        var current = contiguous()
        var currentShape = shape
        // Reduce from the last run to the first so earlier axis numbers stay valid.
        var runs: [(Int, Int)] = []
        for axis in axes {
            if let last = runs.last, last.1 == axis - 1 { runs[runs.count - 1].1 = axis } else { runs.append((axis, axis)) }
        }
        let operations = DeviceDispatch.operations("reduction", [self])
        for (first, last) in runs.reversed() {
            let (outer, length, inner) = current.splitAround(first, last)
            let nextShape = Array(currentShape[..<first]) + [1] + Array(currentShape[(last + 1)...])
            if let operations {
                let input = current
                current = DeviceDispatch.run("reduction") {
                    try operations.reduce(kind.deviceOperation, input, outer: outer, length: length, inner: inner).values
                }.reshapeRaw(nextShape)
            } else {
                let next = Tensor(uninitializedShape: nextShape)
                AxisReduction.reduce(kind, current.floats, outer: outer, length: length, inner: inner, into: next.floats)
                current = next
            }
            currentShape = nextShape
        }
        return current
    }

    /// Sum over `axes` (all axes when `nil`).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        require(dtype == .float32, "sum needs float32, got \(dtype)")
        let axes = normalizedAxes(axes)
        let reduced = reduceRaw(.sum, axes: axes).reshapeRaw(reduceShape(axes, keepDims: keepDims))
        let inputShape = shape, kept = reduceShape(axes, keepDims: true)
        return Tensor.record("sum", reduced, inputs: [self]) { grad in
            [grad.reshape(kept).expand(inputShape)]
        }
    }

    /// Sum along one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (all axes when `nil`).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes)
        let n = axes.reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Mean along one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Maximum over `axes`; the gradient goes to every element equal to the maximum, split
    /// evenly between ties (like `torch.amax`).
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor { extreme(.max, axes, keepDims) }

    /// Maximum along one axis.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor { extreme(.max, [axis], keepDims) }

    /// Minimum over `axes`, with the same gradient rule as ``max(axes:keepDims:)``.
    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor { extreme(.min, axes, keepDims) }

    /// Minimum along one axis.
    public func min(axis: Int, keepDims: Bool = false) -> Tensor { extreme(.min, [axis], keepDims) }

    private func extreme(_ kind: AxisReduction.Kind, _ axes: [Int]?, _ keepDims: Bool) -> Tensor {
        require(dtype == .float32, "max/min need float32, got \(dtype)")
        let axes = normalizedAxes(axes)
        let kept = reduceRaw(kind, axes: axes).reshapeRaw(reduceShape(axes, keepDims: true))
        let result = kept.reshapeRaw(reduceShape(axes, keepDims: keepDims))
        let x = detach(), inputShape = shape
        return Tensor.record(kind == .max ? "max" : "min", result, inputs: [self]) { grad in
            let hits = x.equal(kept).to(.float32)
            let ties = hits.sum(axes: axes, keepDims: true)
            return [grad.reshape(kept.shape).expand(inputShape) * hits / ties]
        }
    }

    /// Index of the maximum along `axis` (first one on ties), as `int64`.
    public func argmax(axis: Int, keepDims: Bool = false) -> Tensor { argExtreme(axis, keepDims, maximum: true) }

    /// Index of the minimum along `axis` (first one on ties), as `int64`.
    public func argmin(axis: Int, keepDims: Bool = false) -> Tensor { argExtreme(axis, keepDims, maximum: false) }

    private func argExtreme(_ axis: Int, _ keepDims: Bool, maximum: Bool) -> Tensor {
        let axis = Shape.normalize(axis: axis, rank: rank)
        let source = (dtype == .float32 ? self : to(.float32)).contiguous()
        let (outer, length, inner) = source.splitAround(axis, axis)
        let resultShape = reduceShape([axis], keepDims: keepDims)
        if let operations = DeviceDispatch.operations(maximum ? "argmax" : "argmin", [source]) {
            return DeviceDispatch.run(maximum ? "argmax" : "argmin") {
                try operations.reduce(maximum ? .max : .min, source, outer: outer, length: length, inner: inner).indices!
            }.reshapeRaw(resultShape)
        }
        let result = Tensor(uninitializedShape: resultShape, dtype: .int64)
        AxisReduction.argExtreme(source.floats, outer: outer, length: length, inner: inner, maximum: maximum,
                                 into: result.pointer(as: Int64.self))
        return result
    }
}
