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
    /// The oneDNN layout of the data, or `nil` for plain row-major data.
    public private(set) var blockedLayout: MemoryDescriptor?
    private let lock = NSLock()

    /// Allocates an uninitialised buffer of `byteCount` bytes.
    public init(byteCount: Int) {
        self.byteCount = byteCount
        self.data = Storage.allocate(byteCount)
    }

    /// Allocates a buffer holding data in the oneDNN layout `layout`.
    init(blockedLayout layout: MemoryDescriptor) {
        self.byteCount = layout.byteSize
        self.data = Storage.allocate(layout.byteSize)
        self.blockedLayout = layout.isPlainRowMajor ? nil : layout
    }

    deinit { free(data) }

    private static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        var pointer: UnsafeMutableRawPointer?
        let status = posix_memalign(&pointer, 64, max(bytes, 64))
        guard status == 0, let pointer else { fatalError("Kusari: out of memory allocating \(bytes) bytes") }
        return pointer
    }

    /// Reorders blocked data into plain row-major order (no-op when already plain).
    public func makePlain() {
        lock.lock(); defer { lock.unlock() }
        guard let layout = blockedLayout else { return }
        let plain = MemoryDescriptor(dims: layout.dims)
        let target = Storage.allocate(plain.byteSize)
        DNNL.reorder(from: layout, source: data, to: plain, destination: target)
        free(data)
        data = target
        byteCount = plain.byteSize
        blockedLayout = nil
    }
}
