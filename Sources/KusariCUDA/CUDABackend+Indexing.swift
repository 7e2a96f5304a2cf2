import Foundation
import Kusari

extension CUDABackend {
    /// Rows of float32 `[rows, width]` `table` picked by the int32/int64 `indices` (in order),
    /// giving `[indices.count, width]`.
    ///
    /// Does not wait for the kernel: an index outside `0..<rows` is reported by the next copy to
    /// or from the host (see ``DeferredChecks``), naming the first one.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for mismatched shapes, dtypes or
    ///   devices; ``CUDAError`` when the launch fails.
    public func gatherRows(_ table: Tensor, indices: Tensor) throws -> Tensor {
        try expectFloat32(table, "gatherRows table")
        try expectIndices(indices, "gatherRows indices")
        guard table.rank == 2 else {
            throw KusariError.shapeMismatch("gatherRows needs a [rows, width] table, got \(table.shape)")
        }
        let (rows, width, count) = (table.shape[0], table.shape[1], indices.count)
        let source = try denseOnDevice(table, "gatherRows table")
        let index = try denseOnDevice(indices, "gatherRows indices")
        let result = try Tensor(uninitializedShape: [count, width], dtype: .float32, on: self)
        guard count > 0 else { return result }
        guard width > 0 else {
            try checkOnHost(try hostIndices(index), rows: rows, "gatherRows")
            return result
        }
        let bad = try badPositionFlag()
        try launch("kusari_gather_rows_f32_\(Self.suffix(index.dtype))", in: .indexing, count: count * width,
                   [.pointer(Self.address(source)), .pointer(Self.address(index)), .pointer(Self.address(result)),
                    .count(count), .count(width), .count(rows), .buffer(bad)])
        try reportBadIndex(bad, index, rows: rows, "gatherRows")
        return result
    }

    /// `[rows, width]` zeros plus every row of float32 `source` (`[indices.count, width]`) added
    /// at its index. With `deterministic` (or ``deterministic`` set on the backend) the indices
    /// are read back and counting-sorted on the host, and each output element adds its rows in
    /// index order exactly as the CPU does; otherwise the rows are added with atomics (faster,
    /// but the last bits vary between runs).
    ///
    /// The atomic path does not wait for the kernel: an index outside `0..<rows` is reported by
    /// the next copy to or from the host (see ``DeferredChecks``); the sorted path reads the
    /// indices and throws at once.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` naming the first index outside
    ///   `0..<rows` (sorted path), or for mismatched shapes, dtypes or devices; ``CUDAError`` when
    ///   a launch or copy fails.
    public func scatterAddRows(_ source: Tensor, indices: Tensor, rows: Int, deterministic: Bool) throws -> Tensor {
        try expectFloat32(source, "scatterAddRows source")
        try expectIndices(indices, "scatterAddRows indices")
        guard source.rank == 2, source.shape[0] == indices.count, rows >= 0 else {
            throw KusariError.shapeMismatch("scatterAddRows needs [indices.count, width] rows for \(rows) table rows, "
                                            + "got \(source.shape) for \(indices.count) indices")
        }
        let (count, width) = (indices.count, source.shape[1])
        let grad = try denseOnDevice(source, "scatterAddRows source")
        let index = try denseOnDevice(indices, "scatterAddRows indices")
        let result = try Tensor(uninitializedShape: [rows, width], dtype: .float32, on: self)
        try fill(result, with: 0)
        guard count > 0 else { return result }
        if deterministic || self.deterministic || width == 0 {
            let ids = try hostIndices(index)
            try checkOnHost(ids, rows: rows, "scatterAddRows")
            guard width > 0 else { return result }
            // Counting sort: order[starts[v] ..< starts[v + 1]] are the rows adding to v, ascending.
            var starts = [Int64](repeating: 0, count: rows + 1)
            for id in ids { starts[id + 1] += 1 }
            for v in 0..<rows { starts[v + 1] += starts[v] }
            var next = starts, order = [Int64](repeating: 0, count: count)
            for (row, id) in ids.enumerated() {
                order[Int(next[id])] = Int64(row)
                next[id] += 1
            }
            let orderBuffer = try context.upload(order), startsBuffer = try context.upload(starts)
            try launch("kusari_scatter_add_rows_sorted_f32", in: .indexing, count: rows * width,
                       [.pointer(Self.address(grad)), .buffer(orderBuffer), .buffer(startsBuffer),
                        .pointer(Self.address(result)), .count(rows), .count(width)])
            return result
        }
        let bad = try badPositionFlag()
        try launch("kusari_scatter_add_rows_f32_\(Self.suffix(index.dtype))", in: .indexing, count: count * width,
                   [.pointer(Self.address(grad)), .pointer(Self.address(index)), .pointer(Self.address(result)),
                    .count(count), .count(width), .count(rows), .buffer(bad)])
        try reportBadIndex(bad, index, rows: rows, "scatterAddRows")
        return result
    }

    /// Queues the check of the first bad position a kernel left in `flag`, which throws naming
    /// its index.
    private func reportBadIndex(_ flag: DeviceBuffer, _ indices: Tensor, rows: Int, _ op: String) throws {
        try checkLater(flag) { [self] position in
            throw Self.outOfRange(try hostIndex(indices, at: position), position: position, rows: rows, op)
        }
    }

    /// Throws for the first of `ids` outside `0..<rows`.
    private func checkOnHost(_ ids: [Int], rows: Int, _ op: String) throws {
        if let position = ids.firstIndex(where: { $0 < 0 || $0 >= rows }) {
            throw Self.outOfRange(ids[position], position: position, rows: rows, op)
        }
    }

    /// The error for index `index` at `position`, outside `0..<rows`.
    private static func outOfRange(_ index: Int, position: Int, rows: Int, _ op: String) -> KusariError {
        .invalidArgument("\(op): index \(index) at position \(position) is out of range for axis 0 of size \(rows)")
    }
}
