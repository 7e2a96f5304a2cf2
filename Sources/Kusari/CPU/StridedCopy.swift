/// Strided gathers: turn any plain view (permuted, sliced, broadcast) into dense row-major data.
enum StridedCopy {
    /// Merges neighbouring axes whose strides let them be walked as one, dropping size-1 axes.
    static func collapse(shape: [Int], strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
        var outShape: [Int] = []
        var outStrides: [[Int]] = strides.map { _ in [] }
        for axis in 0..<shape.count where shape[axis] != 1 {
            if let last = outShape.last,
               strides.indices.allSatisfy({ outStrides[$0].last! == strides[$0][axis] * shape[axis] }) {
                outShape[outShape.count - 1] = last * shape[axis]
                for k in strides.indices { outStrides[k][outStrides[k].count - 1] = strides[k][axis] }
            } else {
                outShape.append(shape[axis])
                for k in strides.indices { outStrides[k].append(strides[k][axis]) }
            }
        }
        if outShape.isEmpty { return ([1], strides.map { _ in [1] }) }
        return (outShape, outStrides)
    }

    /// Calls `row(outerIndex, sourceOffsets..., innerCount, innerStrides)` for each innermost
    /// row of an n-d walk over `shape`, where each operand has its own strides. Rows are split
    /// across threads.
    static func forEachRow(shape: [Int], strides: [[Int]], grain: Int = 32_768,
                           _ row: (_ rowIndex: Int, _ offsets: [Int], _ count: Int, _ innerStrides: [Int]) -> Void) {
        let (dims, steps) = collapse(shape: shape, strides: strides)
        let inner = dims.last!
        let outerDims = Array(dims.dropLast())
        let rows = Shape.count(outerDims)
        let innerStrides = steps.map { $0.last! }
        Threading.parallelFor(rows, grain: max(1, grain / max(inner, 1))) { start, end in
            var index = [Int](repeating: 0, count: outerDims.count)
            var remainder = start
            for axis in stride(from: outerDims.count - 1, through: 0, by: -1) {
                index[axis] = remainder % outerDims[axis]
                remainder /= outerDims[axis]
            }
            var offsets = steps.map { s in zip(index, s).reduce(0) { $0 + $1.0 * $1.1 } }
            for r in start..<end {
                row(r, offsets, inner, innerStrides)
                // Advance the multi-index like an odometer, updating each operand's offset.
                var axis = outerDims.count - 1
                while axis >= 0 {
                    index[axis] += 1
                    for k in offsets.indices { offsets[k] += steps[k][axis] }
                    if index[axis] < outerDims[axis] { break }
                    for k in offsets.indices { offsets[k] -= steps[k][axis] * outerDims[axis] }
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
    }

    /// Copies a plain view of `T` elements into a new dense buffer.
    static func gather<T>(_ source: UnsafeMutablePointer<T>, shape: [Int], strides: [Int],
                          into destination: UnsafeMutablePointer<T>) {
        let contiguous = Shape.contiguousStrides(shape)
        forEachRow(shape: shape, strides: [strides, contiguous]) { _, offsets, count, inner in
            let src = source + offsets[0], dst = destination + offsets[1]
            let step = inner[0]
            if step == 1 {
                dst.update(from: src, count: count)
            } else {
                for i in 0..<count { dst[i] = src[i * step] }
            }
        }
    }
}
