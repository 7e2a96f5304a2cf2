import CDNNL
import Foundation

/// A reference-counted, 64-byte-aligned buffer that one or more ``Tensor`` views share.
///
/// Besides plain row-major data, a storage may hold an activation in a oneDNN *blocked* layout
/// (for example `nChw8c`) so that a chain of oneDNN primitives (conv → ReLU → pool → BN) runs
/// without reorders in between. Anything that needs plain data calls ``makePlain()``, which
/// reorders once, in place, for every view sharing the storage.
public final class Storage: @unchecked Sendable {
    /// Start of the buffer.
    public private(set) var data: UnsafeMutableRawPointer
    /// Size of the buffer in bytes.
    public private(set) var byteCount: Int
    /// Size of the allocated block (its allocator bin).
    private var blockSize: Int
    /// The oneDNN layout of the data, or `nil` for plain row-major data.
    public private(set) var blockedLayout: MemoryDescriptor?
    /// Where the buffer lives: host memory, or a GPU's memory owned by ``backend``.
    public let device: Device
    /// The backend that allocated device memory (`nil` for host memory).
    private let backend: (any DeviceBackend)?
    /// The page-locked host memory holding the data, when a backend supplied it.
    private let pinned: PinnedHostAllocation?
    private let lock = NSLock()

    /// Allocates an uninitialised host buffer of `byteCount` bytes.
    public init(byteCount: Int) {
        self.byteCount = byteCount
        (data, blockSize) = HostAllocator.allocate(byteCount)
        device = .cpu
        backend = nil
        pinned = nil
    }

    /// Allocates an uninitialised buffer of `byteCount` bytes on `backend`'s device.
    public init(byteCount: Int, on backend: any DeviceBackend) throws {
        self.byteCount = byteCount
        data = try backend.allocate(byteCount: Swift.max(byteCount, 1))
        blockSize = Swift.max(byteCount, 1)
        device = backend.device
        self.backend = backend
        pinned = nil
    }

    /// A host buffer of `byteCount` bytes in the page-locked memory `allocation` (at least that
    /// large), which this storage keeps until it goes away.
    public init(byteCount: Int, pinned allocation: PinnedHostAllocation) {
        precondition(allocation.byteCount >= byteCount,
                     "a \(allocation.byteCount)-byte pinned allocation cannot hold \(byteCount) bytes")
        self.byteCount = byteCount
        data = allocation.data
        blockSize = allocation.byteCount
        device = .cpu
        backend = nil
        pinned = allocation
    }

    /// Whether the buffer is page-locked host memory from a ``DeviceBackend``
    /// (``DeviceBackend/allocatePinnedHost(byteCount:)``).
    public var isPinned: Bool { pinned != nil }

    /// Allocates a buffer holding data in the oneDNN layout `layout`.
    init(blockedLayout layout: MemoryDescriptor) {
        self.byteCount = layout.byteSize
        (data, blockSize) = HostAllocator.allocate(layout.byteSize)
        self.blockedLayout = layout.isPlainRowMajor ? nil : layout
        device = .cpu
        backend = nil
        pinned = nil
    }

    deinit {
        if let backend {
            backend.free(data, byteCount: blockSize)
        } else if pinned == nil {
            HostAllocator.release(data, size: blockSize)
        }
        // Pinned memory goes back to its backend when the last holder of the allocation lets go.
    }

    /// Reorders blocked data into plain row-major order (no-op when already plain).
    public func makePlain() {
        lock.lock(); defer { lock.unlock() }
        guard let layout = blockedLayout else { return }
        let plain = MemoryDescriptor(dims: layout.dims)
        let (target, targetSize) = HostAllocator.allocate(plain.byteSize)
        DNNL.reorder(from: layout, source: data, to: plain, destination: target)
        HostAllocator.release(data, size: blockSize)
        (data, blockSize) = (target, targetSize)
        byteCount = plain.byteSize
        blockedLayout = nil
    }
}
