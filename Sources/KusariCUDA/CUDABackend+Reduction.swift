import Foundation
import Kusari

extension CUDABackend {
    /// Reduces float32 `x`, viewed as `[outer, length, inner]`, along its middle axis to
    /// `[outer, inner]`, adding in the CPU's order so sums match it bit for bit: contiguous rows
    /// (`inner == 1`) in runs of 1024 with double-precision run totals, other axes in index
    /// order. `.max` and `.min` also give the int64 position of the first extreme (the first
    /// NaN when there is one, whose value is then NaN). An empty axis gives 0, -∞ or +∞.
    /// - Throws: ``Kusari/KusariError`` for another dtype or device, or sizes that do not
    ///   describe `x`; ``CUDAError`` when a launch fails.
    public func reduce(_ operation: ReductionOperation, _ x: Tensor, outer: Int, length: Int, inner: Int) throws
        -> (values: Tensor, indices: Tensor?) {
        try expectFloat32(x, "reduction input")
        guard outer >= 0, length >= 0, inner >= 0, outer * length * inner == x.count else {
            throw KusariError.shapeMismatch("reduction over [\(outer), \(length), \(inner)] of a \(x.shape) tensor")
        }
        let input = try denseOnDevice(x, "reduction input")
        let values = try Tensor(uninitializedShape: [outer, inner], dtype: .float32, on: self)
        let source = KernelArgument.pointer(Self.address(input)), result = KernelArgument.pointer(Self.address(values))
        let outputs = outer * inner
        if operation == .sum {
            if outputs == 0 { return (values, nil) }
            if inner == 1 {
                try launchRows("kusari_sum_rows_f32", in: .reduction, rows: outer, work: (length + 1023) / 1024,
                               maxThreads: 1024, [source, result, .count(outer), .count(length), .float(1)])
            } else {
                try launch("kusari_sum_axis_f32", in: .reduction, count: outputs,
                           [source, result, .count(outer), .count(length), .count(inner), .float(1)])
            }
            return (values, nil)
        }
        let indices = try Tensor(uninitializedShape: [outer, inner], dtype: .int64, on: self)
        if outputs == 0 { return (values, indices) }
        let position = KernelArgument.pointer(Self.address(indices))
        if inner == 1 {
            try launchRows("kusari_\(operation.rawValue)_rows_f32", in: .reduction, rows: outer, work: length,
                           maxThreads: 512, [source, result, position, .count(outer), .count(length)])
        } else {
            try launch("kusari_\(operation.rawValue)_axis_f32", in: .reduction, count: outputs,
                       [source, result, position, .count(outer), .count(length), .count(inner)])
        }
        return (values, indices)
    }
}
