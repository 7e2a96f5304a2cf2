import Foundation

/// Device memory of one GPU, from `cuMemAlloc_v2`/`cuMemFree_v2` in its primary context.
public struct DeviceMemoryBackend: RawMemoryBackend {
    let driver: CUDADriver
    let context: CUcontext
    let ordinal: Int

    /// `cuda:N`.
    public var name: String { "cuda:\(ordinal)" }

    /// A new block, or `nil` on `CUDA_ERROR_OUT_OF_MEMORY`.
    public func allocate(bytes: Int) throws -> UInt64? {
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        var address: CUdeviceptr = 0
        let status = driver.cuMemAlloc(&address, bytes)
        if status == CUDADriver.outOfMemory { return nil }
        try driver.check(status, "cuMemAlloc_v2(\(bytes) bytes)")
        return address
    }

    /// Frees a block from ``allocate(bytes:)``.
    public func free(_ address: UInt64, bytes: Int) throws {
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        try driver.check(driver.cuMemFree(address), "cuMemFree_v2(\(bytes) bytes)")
    }

    /// `cuMemGetInfo_v2`: free and total device memory.
    public func memoryInfo() -> (free: Int, total: Int)? {
        guard driver.cuCtxSetCurrent(context) == 0 else { return nil }
        var free = 0, total = 0
        guard driver.cuMemGetInfo(&free, &total) == 0 else { return nil }
        return (free, total)
    }
}

/// A block of device memory from a context's caching allocator, returned to it on deinit.
public final class DeviceBuffer: @unchecked Sendable {
    /// The device address.
    public let address: CUdeviceptr
    /// The usable size in bytes (as requested; the block may be larger).
    public let byteCount: Int
    private let allocator: CachingAllocator<DeviceMemoryBackend>

    /// Takes a block of `byteCount` bytes from `allocator`.
    init(byteCount: Int, allocator: CachingAllocator<DeviceMemoryBackend>) throws {
        self.address = try allocator.allocate(byteCount)
        self.byteCount = byteCount
        self.allocator = allocator
    }

    deinit {
        // The address came from this allocator, so giving it back cannot be a misuse.
        try? allocator.deallocate(address)
    }
}
