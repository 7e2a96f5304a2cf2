import Kusari

/// A GPU serving the core as its ``Kusari/DeviceBackend``: tensor storage comes from the
/// context's caching allocator, and copies run on its stream (synchronously, so the host data may
/// be reused as soon as a copy returns). ``install(ordinal:)`` registers it, after which
/// `tensor.to(device: .cuda(ordinal))` works.
public final class CUDABackend: DeviceBackend, @unchecked Sendable {
    /// The GPU's context (driver, stream, allocator).
    public let context: CUDAContext

    /// Wraps an open context; see ``install(ordinal:)`` to also register it.
    public init(context: CUDAContext) {
        self.context = context
    }

    /// Opens GPU `ordinal` and registers it with ``Kusari/DeviceBackends``.
    /// - Throws: ``CUDAError`` when there is no driver or no such GPU.
    @discardableResult
    public static func install(ordinal: Int = 0) throws -> CUDABackend {
        let backend = CUDABackend(context: try CUDAContext(ordinal: ordinal))
        DeviceBackends.register(backend)
        return backend
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

    public func copy(fromHost source: UnsafeRawPointer, toDevice destination: UnsafeMutableRawPointer, byteCount: Int) throws {
        try context.makeCurrent()
        let driver = context.driver
        try driver.check(driver.cuMemcpyHtoDAsync(CUdeviceptr(UInt(bitPattern: destination)), source, byteCount, context.stream),
                         "cuMemcpyHtoDAsync_v2(\(byteCount) bytes)")
        try context.synchronize()
    }

    public func copy(fromDevice source: UnsafeRawPointer, toHost destination: UnsafeMutableRawPointer, byteCount: Int) throws {
        try context.makeCurrent()
        let driver = context.driver
        try driver.check(driver.cuMemcpyDtoHAsync(destination, CUdeviceptr(UInt(bitPattern: source)), byteCount, context.stream),
                         "cuMemcpyDtoHAsync_v2(\(byteCount) bytes)")
        try context.synchronize()
    }
}
