extension Tensor {
    /// Whether this tensor's values live in page-locked host memory from a device backend, from
    /// which ``to(device:nonBlocking:)`` uploads asynchronously.
    public var isPinned: Bool { storage.isPinned }

    /// An uninitialised contiguous host tensor in page-locked memory supplied by `device`'s
    /// backend (like PyTorch's `torch.empty(..., pin_memory=True)`): uploads of it to `device`
    /// can run while the host goes on.
    ///
    /// - Throws: ``KusariError/unsupportedDevice(_:)`` when no backend serves `device` or it
    ///   offers no pinned memory; the backend's error when the allocation fails.
    public convenience init(pinnedShape shape: [Int], dtype: DType = .float32, for device: Device) throws {
        guard let backend = DeviceBackends.backend(for: device) else {
            throw KusariError.unsupportedDevice("pinned memory for \(device) requested, but no GPU backend serves it")
        }
        let byteCount = Shape.count(shape) * dtype.byteSize
        guard let allocation = try backend.allocatePinnedHost(byteCount: Swift.max(byteCount, 1)) else {
            throw KusariError.unsupportedDevice("the backend of \(device) offers no pinned host memory")
        }
        self.init(storage: Storage(byteCount: byteCount, pinned: allocation), shape: shape, dtype: dtype)
    }

    /// A contiguous copy of this tensor's values in page-locked host memory supplied by
    /// `device`'s backend (PyTorch's `pin_memory()`), cut off from the autodiff graph; the tensor
    /// itself when it is already pinned and contiguous.
    ///
    /// - Throws: as ``init(pinnedShape:dtype:for:)``, or the backend's error when this tensor is
    ///   on a GPU and cannot be copied back.
    public func pinned(for device: Device) throws -> Tensor {
        if isPinned && isContiguous { return self }
        let host = try to(device: .cpu).contiguous()
        let result = try Tensor(pinnedShape: shape, dtype: dtype, for: device)
        result.storage.data.copyMemory(from: host.rawData, byteCount: count * dtype.byteSize)
        return result
    }
}
