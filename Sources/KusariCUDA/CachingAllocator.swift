import Foundation

/// Where a ``CachingAllocator`` gets its blocks: device memory (`cuMemAlloc`), pinned host
/// memory (`cuMemAllocHost`), or a fake in tests.
public protocol RawMemoryBackend {
    /// What the memory is, for error messages (`cuda:0`, `pinned host memory`).
    var name: String { get }
    /// A new block of exactly `bytes` bytes, or `nil` when the memory is exhausted; other
    /// failures throw.
    func allocate(bytes: Int) throws -> UInt64?
    /// Returns a block obtained from ``allocate(bytes:)``.
    func free(_ address: UInt64, bytes: Int) throws
    /// Free and total bytes of the underlying memory, when the backend can tell.
    func memoryInfo() -> (free: Int, total: Int)?
}

/// Byte counts of a ``CachingAllocator``.
public struct AllocatorStatistics: Sendable, Equatable {
    /// Bytes in blocks handed out and not yet returned (rounded sizes).
    public var allocatedBytes = 0
    /// Bytes in returned blocks kept for reuse.
    public var cachedBytes = 0
    /// The most ``allocatedBytes`` reached since creation or ``CachingAllocator/resetPeak()``.
    public var peakAllocatedBytes = 0
    /// Requests served from the cache.
    public var cacheHits = 0
    /// Requests that needed a new block from the backend.
    public var backendAllocations = 0
    /// Times the cache was emptied to satisfy a request after the backend ran out.
    public var outOfMemoryRetries = 0

    /// Bytes held from the backend: allocated plus cached.
    public var reservedBytes: Int { allocatedBytes + cachedBytes }
}

/// The error thrown when a request cannot be met even after the cache was released.
public struct OutOfMemoryError: Error, CustomStringConvertible {
    /// The memory that ran out (``RawMemoryBackend/name``).
    public let memory: String
    /// The size asked for.
    public let requestedBytes: Int
    /// The size after rounding to its bin.
    public let roundedBytes: Int
    /// Bytes in blocks in use by Kusari when the request failed.
    public let allocatedBytes: Int
    /// Bytes that were cached and released before the retry.
    public let releasedBytes: Int
    /// The backend's free and total bytes after the retry failed, when known.
    public let memoryInfo: (free: Int, total: Int)?

    public var description: String {
        var text = "out of memory on \(memory): tried to allocate \(formatBytes(requestedBytes))"
        if roundedBytes != requestedBytes { text += " (\(formatBytes(roundedBytes)) rounded)" }
        text += "; \(formatBytes(allocatedBytes)) allocated by Kusari"
        text += releasedBytes > 0 ? ", \(formatBytes(releasedBytes)) of cache released before retrying"
                                  : ", no cached blocks to release"
        if let info = memoryInfo {
            text += "; \(formatBytes(info.free)) free of \(formatBytes(info.total))"
        }
        return text + ". Reduce the batch size or free tensors that are no longer needed."
    }
}

/// A size-binned caching allocator over a ``RawMemoryBackend``.
///
/// Requests are rounded up to a bin: multiples of 512 bytes up to 1 MiB (small blocks), then
/// multiples of 2 MiB. Returned blocks stay in a free list per bin and serve the next request
/// of the same bin without calling the backend, which matters on GPUs where `cuMemAlloc` and
/// `cuMemFree` synchronise the device. When the backend runs out of memory, every cached block
/// is released and the request retried once; if that fails too, an ``OutOfMemoryError`` says
/// how much was asked for, how much Kusari holds and what the device has left.
///
/// Blocks are reused in the order work was queued on the (single) stream they are used with,
/// so a block freed after being queued for a kernel is only reused by later work on that
/// stream. All methods are thread-safe.
public final class CachingAllocator<Backend: RawMemoryBackend>: @unchecked Sendable {
    /// Largest request served from 512-byte bins.
    public static var smallLimit: Int { 1 << 20 }
    /// Granularity of small bins.
    public static var smallGranularity: Int { 512 }
    /// Granularity of large bins.
    public static var largeGranularity: Int { 2 << 20 }

    /// The memory blocks come from.
    public let backend: Backend
    private let lock = NSLock()
    private var freeBlocks: [Int: [UInt64]] = [:]
    private var liveBlocks: [UInt64: Int] = [:]
    private var stats = AllocatorStatistics()

    /// An allocator over `backend` with an empty cache.
    public init(backend: Backend) {
        self.backend = backend
    }

    /// The bin a request of `bytes` bytes is rounded up to (at least 512 bytes).
    public static func roundedSize(_ bytes: Int) -> Int {
        precondition(bytes >= 0, "cannot allocate \(bytes) bytes")
        let granularity = bytes <= smallLimit ? smallGranularity : largeGranularity
        return max(granularity, (bytes + granularity - 1) / granularity * granularity)
    }

    /// A block of at least `bytes` bytes, from the cache when one of its bin is free.
    public func allocate(_ bytes: Int) throws -> UInt64 {
        let size = Self.roundedSize(bytes)
        lock.lock(); defer { lock.unlock() }
        if let address = freeBlocks[size]?.popLast() {
            stats.cachedBytes -= size
            stats.cacheHits += 1
            return record(address, size)
        }
        if let address = try backend.allocate(bytes: size) {
            stats.backendAllocations += 1
            return record(address, size)
        }
        let released = stats.cachedBytes
        if released > 0 {
            try releaseCacheLocked()
            stats.outOfMemoryRetries += 1
            if let address = try backend.allocate(bytes: size) {
                stats.backendAllocations += 1
                return record(address, size)
            }
        }
        throw OutOfMemoryError(memory: backend.name, requestedBytes: bytes, roundedBytes: size,
                               allocatedBytes: stats.allocatedBytes, releasedBytes: released,
                               memoryInfo: backend.memoryInfo())
    }

    /// Returns a block to the cache; throws for an address this allocator did not hand out
    /// (or already took back).
    public func deallocate(_ address: UInt64) throws {
        lock.lock(); defer { lock.unlock() }
        guard let size = liveBlocks.removeValue(forKey: address) else {
            throw AllocatorMisuse(address: address, memory: backend.name)
        }
        stats.allocatedBytes -= size
        stats.cachedBytes += size
        freeBlocks[size, default: []].append(address)
    }

    /// Gives every cached block back to the backend.
    public func releaseCache() throws {
        lock.lock(); defer { lock.unlock() }
        try releaseCacheLocked()
    }

    /// The current byte counts.
    public var statistics: AllocatorStatistics {
        lock.lock(); defer { lock.unlock() }
        return stats
    }

    /// Restarts peak tracking from the current allocated bytes.
    public func resetPeak() {
        lock.lock(); defer { lock.unlock() }
        stats.peakAllocatedBytes = stats.allocatedBytes
    }

    private func record(_ address: UInt64, _ size: Int) -> UInt64 {
        liveBlocks[address] = size
        stats.allocatedBytes += size
        stats.peakAllocatedBytes = max(stats.peakAllocatedBytes, stats.allocatedBytes)
        return address
    }

    private func releaseCacheLocked() throws {
        while let (size, blocks) = freeBlocks.first {
            var remaining = blocks
            while let address = remaining.popLast() {
                do {
                    try backend.free(address, bytes: size)
                } catch {
                    freeBlocks[size] = remaining + [address]
                    throw error
                }
                stats.cachedBytes -= size
            }
            freeBlocks[size] = nil
        }
    }
}

/// Thrown when a block is returned to an allocator that does not own it.
public struct AllocatorMisuse: Error, CustomStringConvertible {
    /// The address returned.
    public let address: UInt64
    /// The allocator's memory.
    public let memory: String

    public var description: String {
        "address 0x\(String(address, radix: 16)) was not allocated from \(memory) by this allocator (double free?)"
    }
}

/// `1.50 GiB`, `512 B`: a byte count for messages.
func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes), unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.2f ", value) + units[unit]
}
