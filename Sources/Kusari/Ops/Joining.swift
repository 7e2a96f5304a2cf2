import Foundation

/// Joining tensors along an axis and splitting them apart again; all differentiable.
extension Tensor {
    /// Joins `tensors` along `axis`. All tensors must have the same dtype and the same size on
    /// every other axis. The gradient of each input is the matching slice of the output gradient.
    public static func concat(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        require(!tensors.isEmpty, "concat of an empty list")
        let first = tensors[0]
        require(first.rank > 0, "concat of 0-d tensors; use stack")
        let axis = Shape.normalize(axis: axis, rank: first.rank)
        for t in tensors {
            require(t.dtype == first.dtype, "concat: dtype \(t.dtype) does not match \(first.dtype)")
            require(t.rank == first.rank && t.shape.indices.allSatisfy { $0 == axis || t.shape[$0] == first.shape[$0] },
                    "concat along axis \(axis): shape \(t.shape) does not match \(first.shape)")
        }
        let sizes = tensors.map { $0.shape[axis] }
        var shape = first.shape
        shape[axis] = sizes.reduce(0, +)
        if let operations = DeviceDispatch.operations("concat", tensors) {
            let result = Tensor.uninitialized(shape, dtype: first.dtype, on: operations.device)
            var start = 0
            for (tensor, size) in zip(tensors, sizes) {
                let part = result.slice(axis: axis, start: start, end: start + size).detach()
                DeviceDispatch.run("concat") { try operations.copy(tensor.detach().onDevice(of: operations, "concat"), into: part) }
                start += size
            }
            return record("concat", result, inputs: tensors) { grad in
                var start = 0
                return sizes.map { size in
                    defer { start += size }
                    return grad.slice(axis: axis, start: start, end: start + size)
                }
            }
        }
        let result = Tensor(uninitializedShape: shape, dtype: first.dtype)
        let sources = tensors.map { $0.detach().contiguous() }
        // Each output row (one index of the leading axes) is a run of one segment per input.
        let rows = Shape.count(Array(shape[..<axis]))
        let innerBytes = Shape.count(Array(shape[(axis + 1)...])) * first.dtype.byteSize
        let segmentBytes = sizes.map { $0 * innerBytes }
        var segmentStarts = [0]
        for bytes in segmentBytes { segmentStarts.append(segmentStarts.last! + bytes) }
        let rowBytes = segmentStarts.last!
        let pointers = sources.map { UnsafeRawPointer($0.rawData) }
        let destination = result.rawData
        withExtendedLifetime(sources) {
            Threading.parallelFor(rows * rowBytes, grain: 1 << 18) { start, end in
                var position = start
                while position < end {
                    let row = position / rowBytes, within = position % rowBytes
                    // Last segment starting at or before `within` (empty segments are skipped).
                    var low = 0, high = segmentBytes.count - 1
                    while low < high {
                        let middle = (low + high + 1) / 2
                        if segmentStarts[middle] <= within { low = middle } else { high = middle - 1 }
                    }
                    let skip = within - segmentStarts[low]
                    let length = Swift.min(end - position, segmentStarts[low + 1] - within)
                    memcpy(destination + position, pointers[low] + row * segmentBytes[low] + skip, length)
                    position += length
                }
            }
        }
        return record("concat", result, inputs: tensors) { grad in
            var start = 0
            return sizes.map { size in
                defer { start += size }
                return grad.slice(axis: axis, start: start, end: start + size)
            }
        }
    }

    /// Stacks same-shaped tensors along a new axis `axis` (which may equal their rank).
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        require(!tensors.isEmpty, "stack of an empty list")
        let shape = tensors[0].shape
        for t in tensors { require(t.shape == shape, "stack: shape \(t.shape) does not match \(shape)") }
        let position = axis < 0 ? axis + shape.count + 1 : axis
        require(position >= 0 && position <= shape.count, "stack axis \(axis) out of range for rank \(shape.count)")
        return concat(tensors.map { $0.unsqueeze(axis: position) }, axis: position)
    }

    /// Splits into consecutive pieces of the given sizes along `axis` (they must add up to the
    /// axis size). The pieces are views sharing this tensor's storage.
    public func split(sizes: [Int], axis: Int = 0) -> [Tensor] {
        let axis = Shape.normalize(axis: axis, rank: rank)
        require(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[axis],
                "split sizes \(sizes) do not add up to \(shape[axis]) along axis \(axis)")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return slice(axis: axis, start: start, end: start + size)
        }
    }

    /// Splits into `chunks` pieces of `⌈size / chunks⌉` along `axis` (the last may be smaller
    /// and fewer pieces come back when the axis is short), like `torch.chunk`.
    public func chunk(_ chunks: Int, axis: Int = 0) -> [Tensor] {
        require(chunks > 0, "chunk count must be positive, got \(chunks)")
        let axis = Shape.normalize(axis: axis, rank: rank)
        let size = shape[axis]
        let step = Swift.max(1, (size + chunks - 1) / chunks)
        let sizes = size == 0 ? [0] : stride(from: 0, to: size, by: step).map { Swift.min(step, size - $0) }
        return split(sizes: sizes, axis: axis)
    }
}
