import Foundation

/// One GPU ready for work: its primary context, a stream, a caching device allocator and a
/// pool of pinned host buffers.
///
/// Work is queued on ``stream`` in order; ``synchronize()`` waits for it. Every method makes
/// the context current on the calling thread first, so a context can be used from any thread
/// (one at a time).
public final class CUDAContext: @unchecked Sendable {
    /// `CU_STREAM_NON_BLOCKING`: the stream does not synchronise with the legacy default stream.
    private static let nonBlockingStream: UInt32 = 1

    /// The driver binding.
    public let driver: CUDADriver
    /// The GPU's name, memory and compute capability.
    public let device: CUDADeviceInfo
    /// The stream this context's work is queued on.
    public let stream: CUstream
    /// Device memory, cached and reused by size bin.
    public let allocator: CachingAllocator<DeviceMemoryBackend>
    /// Pinned host memory for asynchronous copies.
    public let pinnedPool: PinnedHostPool
    let context: CUcontext

    /// Opens GPU `ordinal` (retaining its primary context) and creates a stream.
    public init(ordinal: Int = 0, driver: CUDADriver? = nil) throws {
        let driver = try driver ?? CUDADriver.load()
        let handle = try driver.device(ordinal)
        self.driver = driver
        self.device = try driver.deviceInfo(ordinal)
        var context: CUcontext?
        try driver.check(driver.cuDevicePrimaryCtxRetain(&context, handle), "cuDevicePrimaryCtxRetain(cuda:\(ordinal))")
        guard let context else { throw CUDAError.noDevice("cuda:\(ordinal) has no primary context") }
        self.context = context
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        var stream: CUstream?
        try driver.check(driver.cuStreamCreate(&stream, Self.nonBlockingStream), "cuStreamCreate")
        guard let stream else { throw CUDAError.noDevice("cuStreamCreate returned no stream") }
        self.stream = stream
        allocator = CachingAllocator(backend: DeviceMemoryBackend(driver: driver, context: context, ordinal: ordinal))
        pinnedPool = PinnedHostPool(backend: PinnedHostMemory(driver: driver, context: context))
    }

    deinit {
        if driver.cuCtxSetCurrent(context) == 0 {
            _ = driver.cuStreamSynchronize(stream)
            _ = driver.cuStreamDestroy(stream)
        }
    }

    /// Makes this context current on the calling thread.
    public func makeCurrent() throws {
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
    }

    /// Waits until all work queued on ``stream`` has finished; errors of asynchronous work
    /// (a faulting kernel) surface here.
    public func synchronize() throws {
        try makeCurrent()
        try driver.check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize")
    }

    /// Uninitialised device memory for `count` values of `T`.
    public func allocate<T>(_ type: T.Type, count: Int) throws -> DeviceBuffer {
        try makeCurrent()
        return try DeviceBuffer(byteCount: count * MemoryLayout<T>.stride, allocator: allocator)
    }

    /// Device memory holding a copy of `values`.
    public func upload<T>(_ values: [T]) throws -> DeviceBuffer {
        let buffer = try allocate(T.self, count: values.count)
        try values.withUnsafeBytes { bytes in
            // From pageable memory the call returns once the data is staged, so `values` may go.
            try driver.check(driver.cuMemcpyHtoDAsync(buffer.address, bytes.baseAddress, bytes.count, stream),
                             "cuMemcpyHtoDAsync_v2(\(bytes.count) bytes)")
        }
        return buffer
    }

    /// Queues a copy from a pinned host buffer to the device; it runs asynchronously with
    /// respect to the host, so `source` must stay alive and unchanged until the stream reaches it.
    public func copyAsync(_ source: PinnedHostBuffer, to destination: DeviceBuffer) throws {
        precondition(source.byteCount <= destination.byteCount, "copy of \(source.byteCount) bytes into \(destination.byteCount)")
        try makeCurrent()
        try driver.check(driver.cuMemcpyHtoDAsync(destination.address, source.pointer, source.byteCount, stream),
                         "cuMemcpyHtoDAsync_v2(\(source.byteCount) bytes)")
    }

    /// Queues a device-to-device copy of `bytes` bytes.
    public func copy(_ source: DeviceBuffer, to destination: DeviceBuffer, bytes: Int) throws {
        precondition(bytes <= source.byteCount && bytes <= destination.byteCount, "device copy of \(bytes) bytes out of range")
        try makeCurrent()
        try driver.check(driver.cuMemcpyDtoDAsync(destination.address, source.address, bytes, stream),
                         "cuMemcpyDtoDAsync_v2(\(bytes) bytes)")
    }

    /// Queues filling `count` 32-bit words of `buffer` with `pattern` (`0` zeroes floats).
    public func fill(_ buffer: DeviceBuffer, words count: Int, pattern: UInt32) throws {
        precondition(count * 4 <= buffer.byteCount, "fill of \(count) words past \(buffer.byteCount) bytes")
        try makeCurrent()
        try driver.check(driver.cuMemsetD32Async(buffer.address, pattern, count, stream), "cuMemsetD32Async")
    }

    /// Waits for queued work, then copies the first `count` values of `buffer` to the host.
    public func download<T>(_ buffer: DeviceBuffer, as type: T.Type, count: Int) throws -> [T] {
        let bytes = count * MemoryLayout<T>.stride
        precondition(bytes <= buffer.byteCount, "download of \(bytes) bytes from \(buffer.byteCount)")
        try makeCurrent()
        let result = try [T](unsafeUninitializedCapacity: count) { storage, initialized in
            try driver.check(driver.cuMemcpyDtoHAsync(storage.baseAddress, buffer.address, bytes, stream),
                             "cuMemcpyDtoHAsync_v2(\(bytes) bytes)")
            try driver.check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize")
            initialized = count
        }
        return result
    }

    /// Queues `kernel` on ``stream`` over a `grid` of blocks of `block` threads.
    public func launch(_ kernel: KernelFunction, grid: (x: Int, y: Int, z: Int), block: (x: Int, y: Int, z: Int),
                       sharedMemory: Int = 0, arguments: [KernelArgument]) throws {
        if let parameters = kernel.parameters, let problem = KernelParameter.mismatch(arguments, parameters) {
            throw CUDAError.kernelArguments(kernel: kernel.name, problem: problem)
        }
        try makeCurrent()
        try KernelArgument.withParameterArray(arguments) { parameters in
            try driver.check(driver.cuLaunchKernel(
                kernel.function, UInt32(grid.x), UInt32(grid.y), UInt32(grid.z),
                UInt32(block.x), UInt32(block.y), UInt32(block.z), UInt32(sharedMemory), stream, parameters, nil),
                "cuLaunchKernel(\(kernel.name), grid \(grid), block \(block))")
        }
    }

    /// Queues `kernel` over `count` elements with a one-dimensional grid of `threads`-thread
    /// blocks (capped; the project's kernels loop over the rest with a grid stride).
    public func launch(_ kernel: KernelFunction, count: Int, threads: Int = 256, arguments: [KernelArgument]) throws {
        let blocks = max(1, min((count + threads - 1) / threads, device.multiprocessors * 32))
        try launch(kernel, grid: (blocks, 1, 1), block: (threads, 1, 1), arguments: arguments)
    }

    /// Loads a compiled module into this context.
    func loadModule(_ binary: KernelBinary) throws -> CUmodule {
        try makeCurrent()
        var module: CUmodule?
        try binary.data.withUnsafeBytes { bytes in
            try driver.check(driver.cuModuleLoadData(&module, bytes.baseAddress), "cuModuleLoadData(\(binary.name))")
        }
        guard let module else { throw CUDAError.noDevice("cuModuleLoadData returned no module") }
        return module
    }

    /// The kernel `name` of a loaded module; `parameters` are its parameters when the caller
    /// knows them (from PTX), else the driver is asked (`cuFuncGetParamInfo`, CUDA 12.4+).
    func function(_ name: String, in module: CUmodule, parameters: [KernelParameter]?) throws -> KernelFunction {
        try makeCurrent()
        var function: CUfunction?
        try driver.check(driver.cuModuleGetFunction(&function, module, name), "cuModuleGetFunction(\(name))")
        guard let function else { throw CUDAError.noDevice("cuModuleGetFunction(\(name)) returned nothing") }
        return KernelFunction(name: name, function: function, parameters: parameters ?? driver.parameterSizes(of: function))
    }
}

/// A kernel ready to launch.
public struct KernelFunction: @unchecked Sendable {
    /// The kernel's `extern "C"` name.
    public let name: String
    let function: CUfunction
    /// Its parameters, which launches are checked against (`nil`: unknown, not checked).
    public let parameters: [KernelParameter]?
}

/// One argument of a kernel launch, passed by value as the kernel declares it.
public enum KernelArgument: Sendable {
    /// A device pointer (`float*`, `const long long*`, …).
    case pointer(CUdeviceptr)
    /// A null pointer (for optional outputs).
    case null
    /// `int`.
    case int32(Int32)
    /// `long long`.
    case int64(Int64)
    /// `unsigned long long`.
    case uint64(UInt64)
    /// `float`.
    case float(Float)
    /// A struct made of `long long` fields, such as the kernels' `Layout6`.
    case int64s([Int64])

    /// A device buffer's address.
    public static func buffer(_ buffer: DeviceBuffer) -> KernelArgument { .pointer(buffer.address) }

    /// An element count or index.
    public static func count(_ value: Int) -> KernelArgument { .int64(Int64(value)) }

    /// Copies each argument into its own aligned slot and calls `body` with the array of slot
    /// addresses that `cuLaunchKernel` takes.
    static func withParameterArray<R>(_ arguments: [KernelArgument],
                                      _ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>) throws -> R) rethrows -> R {
        let slots: [UnsafeMutableRawPointer] = arguments.map { argument in
            switch argument {
            case .pointer(let value): return store(value)
            case .null: return store(CUdeviceptr(0))
            case .int32(let value): return store(value)
            case .int64(let value): return store(value)
            case .uint64(let value): return store(value)
            case .float(let value): return store(value)
            case .int64s(let values):
                let slot = UnsafeMutableRawPointer.allocate(byteCount: max(8, values.count * 8), alignment: 16)
                values.withUnsafeBytes { bytes in
                    if let base = bytes.baseAddress { slot.copyMemory(from: base, byteCount: bytes.count) }
                }
                return slot
            }
        }
        defer { slots.forEach { $0.deallocate() } }
        var pointers: [UnsafeMutableRawPointer?] = slots
        pointers.append(nil)
        return try pointers.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }

    private static func store<T>(_ value: T) -> UnsafeMutableRawPointer {
        let slot = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
        slot.storeBytes(of: value, as: T.self)
        return slot
    }
}
