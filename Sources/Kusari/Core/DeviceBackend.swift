import Foundation

/// What a GPU backend provides to the core: memory on its device and copies to and from it.
///
/// The core is built without any GPU code; a backend module (`KusariCUDA`) implements this
/// protocol and registers itself with ``DeviceBackends/register(_:)`` once it has found a usable
/// device. ``Tensor/to(device:)`` then moves tensors to and from that device. Device addresses are
/// carried as raw pointers that are only meaningful to the backend.
public protocol DeviceBackend: AnyObject, Sendable {
    /// The device this backend drives, for example `.cuda(0)`.
    var device: Device { get }
    /// `byteCount` bytes of device memory.
    /// - Throws: when the device is out of memory or the allocation fails.
    func allocate(byteCount: Int) throws -> UnsafeMutableRawPointer
    /// Returns memory obtained from ``allocate(byteCount:)``.
    func free(_ address: UnsafeMutableRawPointer, byteCount: Int)
    /// Copies `byteCount` bytes from host memory to device memory; returns when the copy is done.
    func copy(fromHost source: UnsafeRawPointer, toDevice destination: UnsafeMutableRawPointer, byteCount: Int) throws
    /// Copies `byteCount` bytes from device memory to host memory; returns when the copy is done.
    func copy(fromDevice source: UnsafeRawPointer, toHost destination: UnsafeMutableRawPointer, byteCount: Int) throws
}

/// The registered device backends, one per device.
public enum DeviceBackends {
    nonisolated(unsafe) private static var registered: [Device: any DeviceBackend] = [:]
    private static let lock = NSLock()

    /// Makes `backend` the one serving `backend.device` (replacing any earlier one).
    public static func register(_ backend: any DeviceBackend) {
        lock.lock(); defer { lock.unlock() }
        registered[backend.device] = backend
    }

    /// The backend serving `device`, or `nil` when none is registered (and always for the CPU).
    public static func backend(for device: Device) -> (any DeviceBackend)? {
        lock.lock(); defer { lock.unlock() }
        return registered[device]
    }
}
