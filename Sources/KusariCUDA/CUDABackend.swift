import Foundation
import Kusari

/// A GPU serving the core as its ``Kusari/DeviceBackend``: tensor storage comes from the
/// context's caching allocator, and copies run on its stream (the host data may be reused as soon
/// as a copy returns; see ``copy(fromHost:toDevice:byteCount:)``). ``install(ordinal:)`` registers it, after which
/// `tensor.to(device: .cuda(ordinal))` works and ops on its tensors run on the GPU: the
/// project's NVRTC kernels, cuBLAS for matrix products and cuDNN for convolution, batch
/// normalisation and LRN, all queued on the context's stream.
public final class CUDABackend: DeviceOperations, @unchecked Sendable {
    /// The GPU's context (driver, stream, allocator).
    public let context: CUDAContext
    /// The project's kernels, compiled for this GPU.
    public let kernels: KernelLibrary
    /// Restricts cuDNN to deterministic algorithms and scatter-adds to the sorted kernel, so two
    /// runs from the same seed give identical weights (`--deterministic`). The same switch as
    /// ``Kusari/DeterministicAlgorithms/isEnabled``.
    public var deterministic: Bool {
        get { DeterministicAlgorithms.isEnabled }
        set { DeterministicAlgorithms.isEnabled = newValue }
    }
    /// Lets cuBLAS and cuDNN use TF32 tensor cores for float32 products (off by default: results
    /// then differ from the CPU by about 1e-3 relative).
    public var allowsTF32 = false {
        didSet { cachedBLAS = nil }
    }

    /// Label and index checks of launched kernels, run at the next copy to or from the host.
    let deferredChecks = DeferredChecks<DeviceBuffer>()
    private let loadBLAS: () throws -> CUBLAS
    private let loadDNN: () throws -> CUDNN
    private let lock = NSLock()
    private var cachedBLAS: CUBLASHandle?
    private var cachedDNN: CUDNNHandle?

    /// Wraps an open context whose kernels come from `kernels`; see ``install(ordinal:)`` to also
    /// register it.
    public convenience init(context: CUDAContext, kernels: KernelLibrary) {
        self.init(context: context, kernels: kernels, cublas: CUBLAS.load, cudnn: CUDNN.load)
    }

    /// Wraps an open context whose library calls go to the cuBLAS and cuDNN bindings that
    /// `cublas` and `cudnn` return (on first use).
    init(context: CUDAContext, kernels: KernelLibrary, cublas: @escaping () throws -> CUBLAS,
         cudnn: @escaping () throws -> CUDNN) {
        self.context = context
        self.kernels = kernels
        loadBLAS = cublas
        loadDNN = cudnn
    }

    /// Opens GPU `ordinal`, loads NVRTC for its kernels and registers it with
    /// ``Kusari/DeviceBackends``.
    /// - Throws: ``CUDAError`` when there is no driver, no such GPU or no NVRTC.
    @discardableResult
    public static func install(ordinal: Int = 0) throws -> CUDABackend {
        let context = try CUDAContext(ordinal: ordinal)
        let kernels = try KernelLibrary(nvrtc: NVRTC.load(), target: .device(context.device))
        let backend = CUDABackend(context: context, kernels: kernels)
        DeviceBackends.register(backend)
        return backend
    }

    /// The cuBLAS handle on this context's stream, created on first use (again after
    /// ``allowsTF32`` changes).
    func blas() throws -> CUBLASHandle {
        lock.lock(); defer { lock.unlock() }
        if let cachedBLAS { return cachedBLAS }
        try context.makeCurrent()
        let handle = try CUBLASHandle(cublas: loadBLAS(), stream: context.stream, allowTF32: allowsTF32)
        cachedBLAS = handle
        return handle
    }

    /// The cuDNN handle on this context's stream, created on first use.
    func dnn() throws -> CUDNNHandle {
        lock.lock(); defer { lock.unlock() }
        if let cachedDNN { return cachedDNN }
        try context.makeCurrent()
        let handle = try CUDNNHandle(cudnn: loadDNN(), stream: context.stream)
        cachedDNN = handle
        return handle
    }

    /// The kernel `name` of `source`, loaded into this context.
    func kernel(_ name: String, in source: KernelSource) throws -> KernelFunction {
        try kernels.function(name, in: source, context: context)
    }

    /// The largest host→device copy that goes through ``copy(fromHost:toDevice:byteCount:)``'s
    /// kernel arguments instead of a synchronised copy.
    static let smallCopyLimit = 16

    /// A device address as the kernels and libraries take it.
    static func address(_ tensor: Tensor) -> CUdeviceptr {
        CUdeviceptr(UInt(bitPattern: tensor.storage.data)) + CUdeviceptr(tensor.offset * tensor.dtype.byteSize)
    }

    public var device: Device { .cuda(context.device.ordinal) }

    public func allocate(byteCount: Int) throws -> UnsafeMutableRawPointer {
        try context.makeCurrent()
        let address = try context.allocator.allocate(byteCount)
        guard let pointer = UnsafeMutableRawPointer(bitPattern: UInt(address)) else {
            throw CUDAError.noDevice("\(device): the allocator returned a null device address")
        }
        return pointer
    }

    public func free(_ address: UnsafeMutableRawPointer, byteCount: Int) {
        do {
            try context.allocator.deallocate(UInt64(UInt(bitPattern: address)))
        } catch {
            preconditionFailure("CUDABackend.free: \(error)")
        }
    }

    /// Copies host data to the device; the host data may be reused as soon as this returns.
    ///
    /// Copies of up to ``smallCopyLimit`` bytes (the scalars of `x * 0.5` that move implicitly)
    /// travel in the arguments of a one-thread kernel, so the host does not wait for the GPU;
    /// larger ones are copied on the stream, which is then synchronised, and the pending label
    /// and index checks run.
    public func copy(fromHost source: UnsafeRawPointer, toDevice destination: UnsafeMutableRawPointer, byteCount: Int) throws {
        if byteCount <= Self.smallCopyLimit {
            guard byteCount > 0 else { return }
            var words: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: UnsafeRawBufferPointer(start: source, count: byteCount)) }
            try launch("kusari_store_bytes", in: .elementwise, count: 1,
                       [.pointer(CUdeviceptr(UInt(bitPattern: destination))), .uint64(UInt64(littleEndian: words.0)),
                        .uint64(UInt64(littleEndian: words.1)), .int32(Int32(byteCount))])
            return
        }
        try makingDeferredChecks { [context] in
            try context.makeCurrent()
            let driver = context.driver
            try driver.check(driver.cuMemcpyHtoDAsync(CUdeviceptr(UInt(bitPattern: destination)), source, byteCount,
                                                      context.stream),
                             "cuMemcpyHtoDAsync_v2(\(byteCount) bytes)")
            try context.synchronize()
        }
    }

    public func copy(fromDevice source: UnsafeRawPointer, toHost destination: UnsafeMutableRawPointer, byteCount: Int) throws {
        try makingDeferredChecks { [context] in
            try context.makeCurrent()
            let driver = context.driver
            try driver.check(driver.cuMemcpyDtoHAsync(destination, CUdeviceptr(UInt(bitPattern: source)), byteCount,
                                                      context.stream),
                             "cuMemcpyDtoHAsync_v2(\(byteCount) bytes)")
            try context.synchronize()
        }
    }
}
