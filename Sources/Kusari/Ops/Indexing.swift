import Foundation

/// Selecting, gathering and scatter-adding along an axis with integer index tensors.
///
/// Indices are `int32` or `int64` and must lie in `0..<size` of the indexed axis; anything else
/// stops with a message naming the op, the bad index and the axis size.
extension Tensor {
    /// The slices at `indices` (1-d) along `axis`, in that order; repeats allowed. Works on
    /// every dtype; the gradient scatter-adds into zeros (summing over repeated indices).
    public func indexSelect(axis: Int, indices: Tensor) -> Tensor {
        let axis = Shape.normalize(axis: axis, rank: rank)
        require(indices.rank <= 1, "indexSelect: indices must be 1-d, got shape \(indices.shape)")
        let size = shape[axis]
        if let operations = DeviceDispatch.operations("indexSelect", [self, indices]) {
            return selectRows(on: operations, axis: axis, indices: indices)
        }
        let index = Tensor.checkedIndices(indices, size: size, op: "indexSelect", axis: axis)
        let k = index.count
        var resultShape = shape
        resultShape[axis] = k
        let result = Tensor(uninitializedShape: resultShape, dtype: dtype)
        let source = detach().contiguous()
        let outer = Shape.count(Array(shape[..<axis]))
        let innerBytes = Shape.count(Array(shape[(axis + 1)...])) * dtype.byteSize
        let src = source.rawData, dst = result.rawData
        let ids = index.pointer(as: Int64.self)
        withExtendedLifetime((source, index)) {
            Threading.parallelFor(outer * k, grain: Swift.max(1, (1 << 16) / Swift.max(innerBytes, 1))) { start, end in
                for row in start..<end {
                    let (o, j) = row.quotientAndRemainder(dividingBy: k)
                    memcpy(dst + row * innerBytes, src + (o * size + Int(ids[j])) * innerBytes, innerBytes)
                }
            }
        }
        let inputShape = shape
        return Tensor.record("indexSelect", result, inputs: [self]) { grad in
            [Tensor.indexAddRaw(grad.contiguous(), axis: axis, indices: index, into: inputShape)]
        }
    }

    /// ``indexSelect(axis:indices:)`` on a GPU: the indexed axis moved first, then whole rows
    /// gathered (and scatter-added back for the gradient).
    private func selectRows(on operations: any DeviceOperations, axis: Int, indices: Tensor) -> Tensor {
        let order = [axis] + (0..<rank).filter { $0 != axis }
        let rowsFirst = axis == 0 ? detach() : detach().permute(order)
        let (size, width) = (shape[axis], count / Swift.max(shape[axis], 1))
        let table = rowsFirst.contiguous().reshapeRaw([size, width])
        let index = indices.detach().contiguous().reshapeRaw([indices.count])
        let rows = DeviceDispatch.run("indexSelect") { try operations.gatherRows(table, indices: index) }
        let picked = rows.reshapeRaw([index.count] + Array(rowsFirst.shape.dropFirst()))
        var inverse = [Int](repeating: 0, count: rank)
        for (position, original) in order.enumerated() { inverse[original] = position }
        let result = axis == 0 ? picked : picked.permute(inverse).contiguous().detach()
        return Tensor.record("indexSelect", result, inputs: [self]) { grad in
            let moved = (axis == 0 ? grad : grad.permute(order)).contiguous().reshapeRaw([index.count, width])
            let summed = DeviceDispatch.run("indexSelect backward") {
                try operations.scatterAddRows(moved, indices: index, rows: size, deterministic: DeterministicAlgorithms.isEnabled)
            }.reshapeRaw(rowsFirst.shape)
            return [axis == 0 ? summed : summed.permute(inverse).contiguous()]
        }
    }

    /// `torch.gather`: `result[…, i, …] = self[…, indices[…, i, …], …]` along `axis`. `indices`
    /// has this tensor's rank and no larger size on the other axes; the result has its shape.
    /// The gradient scatter-adds into zeros.
    public func gather(axis: Int, indices: Tensor) -> Tensor {
        let axis = Shape.normalize(axis: axis, rank: rank)
        require(indices.rank == rank, "gather: indices rank \(indices.rank) does not match tensor rank \(rank)")
        require(indices.shape.indices.allSatisfy { $0 == axis || indices.shape[$0] <= shape[$0] },
                "gather: indices shape \(indices.shape) exceeds tensor shape \(shape) off axis \(axis)")
        if device != .cpu { return throughHost("gather", [self, indices]) { $0[0].gather(axis: axis, indices: $0[1]) } }
        let index = Tensor.checkedIndices(indices, size: shape[axis], op: "gather", axis: axis)
        let source = detach().contiguous()
        let result = Tensor(uninitializedShape: index.shape, dtype: dtype)
        switch dtype {
        case .float32: Tensor.gatherKernel(Float.self, source, index, axis: axis, into: result)
        case .int32: Tensor.gatherKernel(Int32.self, source, index, axis: axis, into: result)
        case .int64: Tensor.gatherKernel(Int64.self, source, index, axis: axis, into: result)
        case .uint8: Tensor.gatherKernel(UInt8.self, source, index, axis: axis, into: result)
        case .float16, .bfloat16: Tensor.gatherKernel(UInt16.self, source, index, axis: axis, into: result)
        }
        let inputShape = shape
        return Tensor.record("gather", result, inputs: [self]) { grad in
            [Tensor.zeros(inputShape).scatterAdd(axis: axis, indices: index, source: grad)]
        }
    }

    /// `torch.scatter_add` (out of place): a copy of this float tensor with each element of
    /// `source` added at the position its index names along `axis`:
    /// `result[…, indices[…, i, …], …] += source[…, i, …]`. `source` has the shape of
    /// `indices`; repeated indices accumulate. Differentiable in both `self` and `source`.
    public func scatterAdd(axis: Int, indices: Tensor, source: Tensor) -> Tensor {
        require(dtype == .float32 && source.dtype == .float32, "scatterAdd needs float32 tensors")
        let axis = Shape.normalize(axis: axis, rank: rank)
        require(indices.rank == rank && source.shape == indices.shape,
                "scatterAdd: indices \(indices.shape) and source \(source.shape) must match and have rank \(rank)")
        require(indices.shape.indices.allSatisfy { $0 == axis || indices.shape[$0] <= shape[$0] },
                "scatterAdd: indices shape \(indices.shape) exceeds tensor shape \(shape) off axis \(axis)")
        if device != .cpu {
            return throughHost("scatterAdd", [self, indices, source]) {
                $0[0].scatterAdd(axis: axis, indices: $0[1], source: $0[2])
            }
        }
        let index = Tensor.checkedIndices(indices, size: shape[axis], op: "scatterAdd", axis: axis)
        let result = detach().contiguousCopy()
        let values = source.detach().contiguous()
        // Walk with `axis` innermost so that elements that can hit the same destination (they
        // differ only along `axis`) are always handled by the same thread.
        let others = (0..<rank).filter { $0 != axis }
        let order = others + [axis]
        var destinationStrides = others.map { result.strides[$0] }
        destinationStrides.append(0)
        let walkShape = order.map { index.shape[$0] }
        let axisStride = result.strides[axis]
        let dst = result.floats, src = values.floats, ids = index.pointer(as: Int64.self)
        let walkStrides = [destinationStrides, order.map { index.strides[$0] }, order.map { values.strides[$0] }]
        withExtendedLifetime((values, index)) {
            StridedCopy.forEachRow(shape: walkShape, strides: walkStrides) { _, offsets, count, inner in
                for t in 0..<count {
                    let target = offsets[0] + t * inner[0] + Int(ids[offsets[1] + t * inner[1]]) * axisStride
                    dst[target] += src[offsets[2] + t * inner[2]]
                }
            }
        }
        return Tensor.record("scatterAdd", result, inputs: [self, source]) { grad in
            [grad, source.requiresGrad ? grad.gather(axis: axis, indices: index) : nil]
        }
    }

    /// Copies element `self[…, index[…], …]` for every element of dense `index` (int64) into
    /// dense `result`.
    private static func gatherKernel<T>(_: T.Type, _ source: Tensor, _ index: Tensor, axis: Int, into result: Tensor) {
        var sourceStrides = source.strides
        let axisStride = sourceStrides[axis]
        sourceStrides[axis] = 0
        let src = source.pointer(as: T.self), dst = result.pointer(as: T.self)
        let ids = index.pointer(as: Int64.self)
        StridedCopy.forEachRow(shape: index.shape, strides: [sourceStrides, index.strides]) { _, offsets, count, inner in
            for t in 0..<count {
                let position = offsets[1] + t * inner[1]
                dst[position] = src[offsets[0] + t * inner[0] + Int(ids[position]) * axisStride]
            }
        }
    }

    /// Zeros of `shape` with dense float `source` (shape with `axis` resized to the index
    /// count) added at the slices `indices` along `axis` — the backward of ``indexSelect``.
    static func indexAddRaw(_ source: Tensor, axis: Int, indices: Tensor, into shape: [Int]) -> Tensor {
        let result = Tensor.zeros(shape)
        let size = shape[axis], k = indices.count
        let outer = Shape.count(Array(shape[..<axis])), inner = Shape.count(Array(shape[(axis + 1)...]))
        let dst = result.floats, src = source.floats, ids = indices.pointer(as: Int64.self)
        // Threads own disjoint (outer, inner) columns, so repeated indices never race.
        Threading.parallelFor(outer * inner, grain: Swift.max(1, 16_384 / Swift.max(k, 1))) { start, end in
            var position = start
            while position < end {
                let (o, i0) = position.quotientAndRemainder(dividingBy: inner)
                let i1 = Swift.min(inner, i0 + (end - position))
                for j in 0..<k {
                    let d = dst + (o * size + Int(ids[j])) * inner, s = src + (o * k + j) * inner
                    for i in i0..<i1 { d[i] += s[i] }
                }
                position += i1 - i0
            }
        }
        return result
    }

    /// Checks that `indices` is an integer tensor with every value in `0..<size` and returns it
    /// as a dense `int64` tensor.
    static func checkedIndices(_ indices: Tensor, size: Int, op: String, axis: Int) -> Tensor {
        require(indices.dtype == .int32 || indices.dtype == .int64,
                "\(op): indices must be int32 or int64, got \(indices.dtype)")
        let dense = indices.dtype == .int64 ? indices.detach().contiguous() : indices.to(.int64)
        let ids = dense.pointer(as: Int64.self)
        for i in 0..<dense.count where ids[i] < 0 || ids[i] >= size {
            fatalError("Kusari: \(op): index \(ids[i]) is out of range for axis \(axis) of size \(size)")
        }
        return dense
    }
}

/// Looks up rows of `weight` (`[V, D]`, float32) for integer `indices` of any shape; the result
/// has shape `indices.shape + [D]`. The gradient accumulates output rows into the rows of
/// `weight` they came from (grouped by row, so threads never write the same row).
public func embedding(_ indices: Tensor, _ weight: Tensor) -> Tensor {
    require(weight.rank == 2 && weight.dtype == .float32,
            "embedding: weight must be a float32 [V, D] matrix, got \(weight.shape) \(weight.dtype)")
    let (rows, width) = (weight.shape[0], weight.shape[1])
    if DeviceDispatch.operations("embedding", [indices, weight]) != nil {
        return weight.indexSelect(axis: 0, indices: indices.reshape([indices.count])).reshape(indices.shape + [width])
    }
    let index = Tensor.checkedIndices(indices, size: rows, op: "embedding", axis: 0)
    let n = index.count
    let result = Tensor(uninitializedShape: indices.shape + [width])
    let table = weight.detach().contiguous()
    let src = table.floats, dst = result.floats, ids = index.pointer(as: Int64.self)
    withExtendedLifetime((table, index)) {
        Threading.parallelFor(n, grain: Swift.max(1, 16_384 / Swift.max(width, 1))) { start, end in
            for r in start..<end { (dst + r * width).update(from: src + Int(ids[r]) * width, count: width) }
        }
    }
    return Tensor.record("embedding", result, inputs: [weight]) { grad in
        [embeddingBackward(grad.contiguous(), index, rows: rows, width: width)]
    }
}

/// Sums the rows of dense `grad` (`[n, width]`) into a `[rows, width]` gradient by index,
/// after a counting sort of the indices so that each thread owns a range of weight rows.
private func embeddingBackward(_ grad: Tensor, _ index: Tensor, rows: Int, width: Int) -> Tensor {
    let n = index.count
    let ids = index.pointer(as: Int64.self)
    var starts = [Int](repeating: 0, count: rows + 1)
    for r in 0..<n { starts[Int(ids[r]) + 1] += 1 }
    for v in 0..<rows { starts[v + 1] += starts[v] }
    var order = [Int](repeating: 0, count: n)
    var next = starts
    for r in 0..<n {
        let v = Int(ids[r])
        order[next[v]] = r
        next[v] += 1
    }
    let result = Tensor.zeros([rows, width])
    let dst = result.floats, src = grad.floats
    let perRow = Swift.max(1, n * width / Swift.max(rows, 1))
    starts.withUnsafeBufferPointer { starts in
        order.withUnsafeBufferPointer { order in
            Threading.parallelFor(rows, grain: Swift.max(1, 16_384 / perRow)) { first, end in
                for v in first..<end {
                    let row = dst + v * width
                    for p in starts[v]..<starts[v + 1] {
                        let g = src + order[p] * width
                        for c in 0..<width { row[c] += g[c] }
                    }
                }
            }
        }
    }
    return result
}

extension Tensor {
    /// Runs the CPU version of a rarely used op on copies of device `inputs` in host memory and
    /// moves the result back, keeping the gradient path: the same values, at the cost of two
    /// transfers (used by `gather` and `scatterAdd`, which no built-in layer needs on a GPU).
    func throughHost(_ op: String, _ inputs: [Tensor], _ body: @escaping ([Tensor]) -> Tensor) -> Tensor {
        let target = device
        let hostInputs = inputs.map { input in DeviceDispatch.run(op) { try input.to(device: .cpu) } }
        let hostResult = withNoGrad { body(hostInputs) }
        let result = DeviceDispatch.run(op) { try hostResult.to(device: target) }
        return Tensor.record(op, result, inputs: inputs) { grad in
            let hostGrad = DeviceDispatch.run(op) { try grad.to(device: .cpu) }
            let leaves = zip(inputs, hostInputs).map { input, host in
                host.detach().requiringGrad(input.requiresGrad && input.dtype == .float32)
            }
            GradMode.withGrad { body(leaves).backward(hostGrad) }
            return leaves.map { leaf in leaf.grad.map { grad in DeviceDispatch.run(op) { try grad.to(device: target) } } }
        }
    }
}
