import CDNNL

extension Tensor {
    /// The layout this tensor's data is in, read with logical `dims` (default: its shape).
    /// Plain strided views are first made dense.
    func currentLayout(dims: [Int]? = nil) -> (layout: MemoryDescriptor, tensor: Tensor) {
        if let blocked = storage.blockedLayout { return (blocked, self) }
        let dense = contiguous()
        return (MemoryDescriptor(dims: dims ?? shape), dense)
    }

    /// This tensor's data in oneDNN layout `target` (read with logical `dims`), reordering only
    /// when the layouts differ. The result records no gradient.
    func inLayout(_ target: MemoryDescriptor, dims: [Int]? = nil) -> Tensor {
        inLayout(target, from: currentLayout(dims: dims))
    }

    /// This tensor's data reordered from an explicit source layout (for example a strided
    /// weight view) into `target`.
    func inLayout(_ target: MemoryDescriptor, from source: (layout: MemoryDescriptor, tensor: Tensor)) -> Tensor {
        if source.layout == target { return source.tensor.detach() }
        let result = Tensor.withLayout(target, shape: shape)
        DNNL.reorder(from: source.layout, source: source.tensor.rawData, to: target, destination: result.rawData)
        return result
    }

    /// A new uninitialised float tensor of logical `shape` whose storage uses `layout`.
    static func withLayout(_ layout: MemoryDescriptor, shape: [Int]) -> Tensor {
        Tensor(storage: Storage(blockedLayout: layout), shape: shape, dtype: .float32)
    }

    /// Writes `source` (in `layout`) into this dense plain tensor viewed with logical `dims` and
    /// element `strides` (used to hand gradients back in a parameter's own layout).
    func assignReordered(from source: Tensor, layout: MemoryDescriptor, dims: [Int], strides: [Int]) {
        DNNL.reorder(from: layout, source: source.rawData, to: MemoryDescriptor(dims: dims, strides: strides),
                     destination: rawData)
    }
}

/// Shorthands for building oneDNN dims arrays.
extension Array where Element == Int {
    var dnnlDims: [dnnl_dim_t] { map { dnnl_dim_t($0) } }
}
