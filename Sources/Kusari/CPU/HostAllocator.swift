import Foundation

/// A caching allocator for host tensor buffers.
///
/// Training allocates and frees the same activation and gradient sizes every step; handing
/// them to the system each time costs page faults (fresh pages are zeroed by the kernel). Freed
/// blocks are kept in size bins and reused, up to ``cacheLimit`` bytes.
public enum HostAllocator {
    /// Most bytes kept in the cache (default 2 GiB or a quarter of physical memory, whichever is smaller).
    nonisolated(unsafe) public static var cacheLimit: Int = min(2 << 30, Int(ProcessInfo.processInfo.physicalMemory / 4))

    nonisolated(unsafe) private static var bins: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) private static var cachedBytes = 0
    private static let lock = NSLock()

    /// Rounds a request up to its bin: 64-byte multiples below 4 KiB, then quarter steps
    /// between powers of two (at most 25 % waste).
    static func binSize(_ bytes: Int) -> Int {
        let minimum = max(bytes, 64)
        if minimum <= 4096 { return (minimum + 63) & ~63 }
        let power = Int.bitWidth - (minimum - 1).leadingZeroBitCount - 1
        let quarter = 1 << (power - 2)
        return (minimum + quarter - 1) / quarter * quarter
    }

    /// A 64-byte aligned block of at least `bytes` bytes.
    static func allocate(_ bytes: Int) -> (pointer: UnsafeMutableRawPointer, size: Int) {
        let size = binSize(bytes)
        lock.lock()
        if var free = bins[size], let pointer = free.popLast() {
            bins[size] = free
            cachedBytes -= size
            lock.unlock()
            return (pointer, size)
        }
        lock.unlock()
        var pointer: UnsafeMutableRawPointer?
        if posix_memalign(&pointer, 64, size) != 0 || pointer == nil {
            releaseCache()
            guard posix_memalign(&pointer, 64, size) == 0, let pointer else {
                fatalError("Kusari: out of host memory allocating \(bytes) bytes")
            }
            return (pointer, size)
        }
        return (pointer!, size)
    }

    /// Returns a block from ``allocate(_:)`` to the cache (or to the system when the cache is full).
    static func release(_ pointer: UnsafeMutableRawPointer, size: Int) {
        lock.lock()
        if cachedBytes + size <= cacheLimit {
            bins[size, default: []].append(pointer)
            cachedBytes += size
            lock.unlock()
            return
        }
        lock.unlock()
        free(pointer)
    }

    /// Frees every cached block.
    public static func releaseCache() {
        lock.lock(); defer { lock.unlock() }
        for pointer in bins.values.joined() { free(pointer) }
        bins.removeAll()
        cachedBytes = 0
    }

    /// Bytes currently held in the cache.
    public static var cachedByteCount: Int {
        lock.lock(); defer { lock.unlock() }
        return cachedBytes
    }
}
