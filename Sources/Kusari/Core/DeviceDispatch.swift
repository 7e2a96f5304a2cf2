/// How the ops route device tensors to their backend's ``DeviceOperations``.
enum DeviceDispatch {
    /// The operations of the one GPU that `tensors` live on, or `nil` when they are all in host
    /// memory. Stops with a clear message when they live on different devices, or on a device
    /// whose backend runs no ops.
    static func operations(_ op: String, _ tensors: [Tensor?]) -> (any DeviceOperations)? {
        var found: Device?
        for tensor in tensors.compactMap({ $0 }) where tensor.device != .cpu {
            if let found, found != tensor.device {
                fatalError("Kusari: \(op) got tensors on \(found) and \(tensor.device); move them to one device first")
            }
            found = tensor.device
        }
        guard let device = found else { return nil }
        if let cpu = tensors.compactMap({ $0 }).first(where: { $0.device == .cpu && $0.count != 1 }) {
            fatalError("Kusari: \(op) got a tensor on \(device) and a \(cpu.shape) tensor on the CPU; "
                       + "move it with .to(device: \(device))")
        }
        guard let operations = DeviceBackends.backend(for: device) as? any DeviceOperations else {
            fatalError("Kusari: \(op): the backend of \(device) runs no tensor ops")
        }
        return operations
    }

    /// The operations of `device`'s backend; stops when none serves it.
    static func operations(on device: Device, _ op: String) -> any DeviceOperations {
        guard let operations = DeviceBackends.backend(for: device) as? any DeviceOperations else {
            fatalError("Kusari: \(op) on \(device), but no GPU backend running ops serves it (see `kusari info`)")
        }
        return operations
    }

    /// Runs a backend call, turning its error (a failed CUDA call, an out-of-range label) into
    /// the same kind of stop as a CPU op's invalid argument.
    static func run<R>(_ op: String, _ body: () throws -> R) -> R {
        do {
            return try body()
        } catch {
            fatalError("Kusari: \(op) failed on the device: \(error)")
        }
    }
}

extension Tensor {
    /// An uninitialised contiguous tensor in `backend`'s device memory.
    /// - Throws: the backend's error when the device is out of memory.
    public convenience init(uninitializedShape shape: [Int], dtype: DType = .float32, on backend: any DeviceBackend) throws {
        let storage = try Storage(byteCount: Shape.count(shape) * dtype.byteSize, on: backend)
        self.init(storage: storage, shape: shape, dtype: dtype)
    }

    /// This tensor on `device`, where a CPU operand meets device tensors: one-element CPU
    /// tensors (the scalars of `x * 0.5`) move implicitly, as in PyTorch.
    func onDevice(of operations: any DeviceOperations, _ op: String) -> Tensor {
        guard device != operations.device else { return self }
        return DeviceDispatch.run(op) { try to(device: operations.device) }
    }
}
