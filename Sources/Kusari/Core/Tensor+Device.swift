extension Tensor {
    /// This tensor's values on `target`: the tensor itself when it is already there, otherwise a
    /// new contiguous tensor (a leaf, cut off from the autodiff graph) copied through the
    /// registered ``DeviceBackend``. Moving between two GPUs goes through host memory.
    ///
    /// With `nonBlocking`, a contiguous tensor in pinned host memory (``isPinned``) is uploaded
    /// asynchronously (``DeviceBackend/copyAsync(fromHost:toDevice:byteCount:keepingAlive:)``,
    /// PyTorch's `non_blocking=True`): the call returns once the copy is queued, work on the
    /// result waits for it, and the backend keeps the pinned memory until it has been read. Do
    /// not write to this tensor's values until the upload has run (until the device has been
    /// synchronised, for example by reading a result back). Other copies are synchronous.
    ///
    /// - Throws: ``KusariError/unsupportedDevice(_:)`` when no backend serves `target` (no GPU, or
    ///   the GPU backend was not installed), or the backend's error when a copy fails.
    public func to(device target: Device, nonBlocking: Bool = false) throws -> Tensor {
        guard target != device else { return self }
        let host: Tensor
        if let source = DeviceBackends.backend(for: device) {
            host = Tensor(uninitializedShape: shape, dtype: dtype)
            let dense = detach().contiguous()
            try source.copy(fromDevice: dense.storage.data + dense.offset * dtype.byteSize, toHost: host.rawData,
                            byteCount: count * dtype.byteSize)
        } else {
            host = detach().contiguous()
        }
        guard target != .cpu else { return host }
        guard let backend = DeviceBackends.backend(for: target) else {
            throw KusariError.unsupportedDevice("\(target) requested, but no GPU backend serves it "
                                                + "(see `kusari info` for the GPUs and CUDA libraries found)")
        }
        let byteCount = count * dtype.byteSize
        let storage = try Storage(byteCount: byteCount, on: backend)
        if nonBlocking && host.storage.isPinned {
            try backend.copyAsync(fromHost: host.rawData, toDevice: storage.data, byteCount: byteCount,
                                  keepingAlive: host.storage)
        } else {
            try backend.copy(fromHost: host.rawData, toDevice: storage.data, byteCount: byteCount)
        }
        return Tensor(storage: storage, shape: shape, dtype: dtype)
    }
}

extension Tensor {
    /// A contiguous copy in host memory that shares nothing with this tensor and is cut off from
    /// the autodiff graph (downloaded from a GPU): what state dicts and checkpoints hold.
    public func hostCopy() -> Tensor {
        guard device == .cpu else { return DeviceDispatch.run("hostCopy") { try to(device: .cpu) } }
        return withNoGrad { detach().contiguousCopy() }
    }

    /// Moves this tensor's values to `target` in place: its storage is replaced by a contiguous
    /// copy there (as `param.data = param.data.to(device)` does in PyTorch), so modules and
    /// optimizers holding the tensor keep it. A gradient it holds moves too.
    ///
    /// - Throws: as ``to(device:nonBlocking:)``.
    public func moveData(to target: Device) throws {
        guard target != device else { return }
        let moved = try to(device: target)
        storage = moved.storage
        strides = moved.strides
        offset = moved.offset
        if let grad { self.grad = try grad.to(device: target) }
    }
}
