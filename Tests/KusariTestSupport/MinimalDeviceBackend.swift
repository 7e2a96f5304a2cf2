import Foundation
import Kusari

/// A ``Kusari/DeviceBackend`` with only the required memory and copy methods, so it gets the
/// protocol's defaults for the optional ones: no pinned host memory, synchronous
/// "asynchronous" copies. Its "device memory" is host memory; it serves no ops.
public final class MinimalDeviceBackend: DeviceBackend, @unchecked Sendable {
    /// The device this backend serves, `.cuda(ordinal)`.
    public let device: Device
    private let lock = NSLock()
    private var copyCount = 0

    /// A backend serving `.cuda(ordinal)`, registered with ``Kusari/DeviceBackends``.
    @discardableResult
    public static func install(ordinal: Int) -> MinimalDeviceBackend {
        precondition(DeviceBackends.backend(for: .cuda(ordinal)) == nil,
                     "cuda:\(ordinal) is already taken by another test suite: give each suite its own ordinal")
        let backend = MinimalDeviceBackend(device: .cuda(ordinal))
        DeviceBackends.register(backend)
        return backend
    }

    private init(device: Device) {
        self.device = device
    }

    /// Copies between host and "device" memory so far (either direction).
    public var copies: Int { lock.withLock { copyCount } }

    /// `byteCount` bytes of host memory (64-byte aligned).
    public func allocate(byteCount: Int) throws -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }

    /// Gives back memory from ``allocate(byteCount:)``.
    public func free(_ address: UnsafeMutableRawPointer, byteCount: Int) {
        address.deallocate()
    }

    /// A plain memory copy, counted in ``copies``.
    public func copy(fromHost source: UnsafeRawPointer, toDevice destination: UnsafeMutableRawPointer,
                     byteCount: Int) throws {
        lock.withLock { copyCount += 1 }
        destination.copyMemory(from: source, byteCount: byteCount)
    }

    /// A plain memory copy, counted in ``copies``.
    public func copy(fromDevice source: UnsafeRawPointer, toHost destination: UnsafeMutableRawPointer,
                     byteCount: Int) throws {
        lock.withLock { copyCount += 1 }
        destination.copyMemory(from: source, byteCount: byteCount)
    }
}
