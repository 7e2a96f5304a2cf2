import Foundation

/// What a GPU backend provides to the core: memory on its device and copies to and from it.
///
/// The core is built without any GPU code; a backend module (`KusariCUDA`) implements this
/// protocol and registers itself with ``DeviceBackends/register(_:)`` once it has found a usable
/// device. ``Tensor/to(device:nonBlocking:)`` then moves tensors to and from that device. Device
/// addresses are carried as raw pointers that are only meaningful to the backend. Pinned host
/// memory and asynchronous uploads are optional: the defaults offer none and copy synchronously.
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
    /// At least `byteCount` bytes of page-locked ("pinned") host memory, which the device can copy
    /// from while the host goes on, or `nil` when the backend offers none (the default).
    /// - Throws: when the backend has pinned memory but cannot allocate it.
    func allocatePinnedHost(byteCount: Int) throws -> PinnedHostAllocation?
    /// Starts copying `byteCount` bytes from host memory (normally from
    /// ``allocatePinnedHost(byteCount:)``) to device memory and may return before the copy is
    /// done. Work queued on the device afterwards sees the copied data. `owner`, the object that
    /// keeps `source` allocated, is held until the copy has finished; `source` must not be
    /// written to meanwhile. The default copies synchronously with
    /// ``copy(fromHost:toDevice:byteCount:)``.
    func copyAsync(fromHost source: UnsafeRawPointer, toDevice destination: UnsafeMutableRawPointer, byteCount: Int,
                   keepingAlive owner: AnyObject) throws
}

extension DeviceBackend {
    /// No pinned host memory: `nil`.
    public func allocatePinnedHost(byteCount: Int) throws -> PinnedHostAllocation? { nil }

    /// The synchronous ``copy(fromHost:toDevice:byteCount:)``; `owner` need not be held.
    public func copyAsync(fromHost source: UnsafeRawPointer, toDevice destination: UnsafeMutableRawPointer,
                          byteCount: Int, keepingAlive owner: AnyObject) throws {
        try copy(fromHost: source, toDevice: destination, byteCount: byteCount)
    }
}

/// Page-locked host memory handed out by a ``DeviceBackend``.
///
/// The memory belongs to `owner`, a backend object that gives it back when it is deallocated,
/// so it stays valid for as long as anyone holds this allocation or its owner: the ``Storage``
/// of a pinned tensor holds the allocation, and a backend holds the owner while a queued copy
/// may still read the memory.
public final class PinnedHostAllocation: @unchecked Sendable {
    /// The first byte (aligned to at least 64 bytes).
    public let data: UnsafeMutableRawPointer
    /// The usable size in bytes.
    public let byteCount: Int
    /// The backend's object that owns the memory.
    public let owner: AnyObject

    /// Wraps `byteCount` bytes at `data` that stay allocated as long as `owner` lives.
    public init(data: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject) {
        self.data = data
        self.byteCount = byteCount
        self.owner = owner
    }
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
