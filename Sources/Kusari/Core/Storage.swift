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
    private let lock = NSLock()

    /// Allocates an uninitialised buffer of `byteCount` bytes.
    public init(byteCount: Int) {
        self.byteCount = byteCount
        (data, blockSize) = HostAllocator.allocate(byteCount)
    }

    /// Allocates a buffer holding data in the oneDNN layout `layout`.
    init(blockedLayout layout: MemoryDescriptor) {
        self.byteCount = layout.byteSize
        (data, blockSize) = HostAllocator.allocate(layout.byteSize)
        self.blockedLayout = layout.isPlainRowMajor ? nil : layout
    }

    deinit { HostAllocator.release(data, size: blockSize) }

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
