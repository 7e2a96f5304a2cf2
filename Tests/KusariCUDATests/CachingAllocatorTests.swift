import Foundation
import Testing
@testable import KusariCUDA

/// A fake memory of fixed capacity: hands out increasing addresses and counts calls.
final class FakeMemory: RawMemoryBackend, @unchecked Sendable {
    let capacity: Int
    private let lock = NSLock()
    private var nextAddress: UInt64 = 0x1000
    private(set) var live: [UInt64: Int] = [:]
    private(set) var allocateCalls = 0
    private(set) var freeCalls = 0

    init(capacity: Int) { self.capacity = capacity }

    var name: String { "fake:0" }
    var used: Int { lock.lock(); defer { lock.unlock() }; return live.values.reduce(0, +) }

    func allocate(bytes: Int) throws -> UInt64? {
        lock.lock(); defer { lock.unlock() }
        allocateCalls += 1
        guard live.values.reduce(0, +) + bytes <= capacity else { return nil }
        let address = nextAddress
        nextAddress += UInt64(bytes)
        live[address] = bytes
        return address
    }

    func free(_ address: UInt64, bytes: Int) throws {
        lock.lock(); defer { lock.unlock() }
        freeCalls += 1
        precondition(live.removeValue(forKey: address) == bytes, "fake: bad free of \(address)")
    }

    func memoryInfo() -> (free: Int, total: Int)? { (capacity - used, capacity) }
}

private let mib = 1 << 20

struct CachingAllocatorTests {
    @Test func roundsSmallRequestsTo512BytesAndLargeOnesTo2MiB() {
        typealias A = CachingAllocator<FakeMemory>
        #expect(A.roundedSize(0) == 512 && A.roundedSize(1) == 512 && A.roundedSize(512) == 512)
        #expect(A.roundedSize(513) == 1024 && A.roundedSize(100_000) == 100_352)
        #expect(A.roundedSize(mib) == mib)
        #expect(A.roundedSize(mib + 1) == 2 * mib && A.roundedSize(2 * mib) == 2 * mib)
        #expect(A.roundedSize(3 * mib) == 4 * mib && A.roundedSize(100 * mib + 5) == 102 * mib)
    }

    @Test func reusesFreedBlocksOfTheSameBin() throws {
        let memory = FakeMemory(capacity: 64 * mib)
        let allocator = CachingAllocator(backend: memory)
        let first = try allocator.allocate(1000)
        try allocator.deallocate(first)
        #expect(try allocator.allocate(700) == first)                 // same 1024-byte bin
        let other = try allocator.allocate(2000)                      // 2048-byte bin: a new block
        #expect(other != first)
        let large = try allocator.allocate(3 * mib)
        try allocator.deallocate(large)
        #expect(try allocator.allocate(4 * mib - 100) == large)       // same 4 MiB bin
        let stats = allocator.statistics
        #expect(stats.backendAllocations == 3 && stats.cacheHits == 2)
        #expect(memory.allocateCalls == 3 && memory.freeCalls == 0)
    }

    @Test func tracksAllocatedCachedAndPeakBytes() throws {
        let memory = FakeMemory(capacity: 64 * mib)
        let allocator = CachingAllocator(backend: memory)
        let a = try allocator.allocate(3 * mib)                       // 4 MiB
        let b = try allocator.allocate(100)                           // 512 B
        #expect(allocator.statistics.allocatedBytes == 4 * mib + 512)
        try allocator.deallocate(a)
        var stats = allocator.statistics
        #expect(stats.allocatedBytes == 512 && stats.cachedBytes == 4 * mib)
        #expect(stats.peakAllocatedBytes == 4 * mib + 512 && stats.reservedBytes == 4 * mib + 512)
        allocator.resetPeak()
        #expect(allocator.statistics.peakAllocatedBytes == 512)
        try allocator.deallocate(b)
        try allocator.releaseCache()
        stats = allocator.statistics
        #expect(stats.allocatedBytes == 0 && stats.cachedBytes == 0 && memory.used == 0 && memory.freeCalls == 2)
    }

    @Test func outOfMemoryReleasesTheCacheAndRetriesOnce() throws {
        let memory = FakeMemory(capacity: 8 * mib)
        let allocator = CachingAllocator(backend: memory)
        let a = try allocator.allocate(4 * mib), b = try allocator.allocate(2 * mib)
        try allocator.deallocate(a)
        try allocator.deallocate(b)
        #expect(memory.used == 6 * mib)                               // cached, still held
        let c = try allocator.allocate(6 * mib)                       // needs the cache back
        let stats = allocator.statistics
        #expect(stats.outOfMemoryRetries == 1 && stats.cachedBytes == 0 && stats.allocatedBytes == 6 * mib)
        #expect(memory.freeCalls == 2 && memory.used == 6 * mib)
        try allocator.deallocate(c)
    }

    @Test func failingRequestsThrowAClearError() throws {
        let memory = FakeMemory(capacity: 8 * mib)
        let allocator = CachingAllocator(backend: memory)
        let held = try allocator.allocate(5 * mib)                    // 6 MiB bin
        let cached = try allocator.allocate(1000)
        try allocator.deallocate(cached)
        var caught: OutOfMemoryError?
        do { _ = try allocator.allocate(3 * mib) } catch let error as OutOfMemoryError { caught = error }
        let error = try #require(caught)
        #expect(error.requestedBytes == 3 * mib && error.roundedBytes == 4 * mib)
        #expect(error.allocatedBytes == 6 * mib && error.releasedBytes == 1024)
        #expect(error.memoryInfo?.free == 2 * mib && error.memoryInfo?.total == 8 * mib)
        #expect(error.description == "out of memory on fake:0: tried to allocate 3.00 MiB (4.00 MiB rounded); "
                + "6.00 MiB allocated by Kusari, 1.00 KiB of cache released before retrying; 2.00 MiB free of 8.00 MiB. "
                + "Reduce the batch size or free tensors that are no longer needed.")
        // Nothing is cached now, so the next failure says so.
        #expect { _ = try allocator.allocate(3 * mib) } throws: {
            String(describing: $0).contains("no cached blocks to release")
        }
        #expect(allocator.statistics.allocatedBytes == 6 * mib)
        try allocator.deallocate(held)
    }

    @Test func rejectsBlocksItDidNotHandOut() throws {
        let allocator = CachingAllocator(backend: FakeMemory(capacity: mib))
        let block = try allocator.allocate(10)
        try allocator.deallocate(block)
        #expect { try allocator.deallocate(block) } throws: { String(describing: $0).contains("double free") }
        #expect(throws: AllocatorMisuse.self) { try allocator.deallocate(0xdead) }
    }

    @Test func staysConsistentUnderConcurrentUse() throws {
        let memory = FakeMemory(capacity: 1 << 30)
        let allocator = CachingAllocator(backend: memory)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for step in 0..<200 {
                let size = 512 * (1 + (worker * 7 + step) % 5)
                if let block = try? allocator.allocate(size) { try? allocator.deallocate(block) }
            }
        }
        let stats = allocator.statistics
        #expect(stats.allocatedBytes == 0 && stats.cacheHits + stats.backendAllocations == 1600)
        #expect(stats.cachedBytes == memory.used)
    }
}
