import Foundation

/// Page-locked host memory from `cuMemAllocHost_v2`, which the GPU can copy from while the
/// host goes on (copies from ordinary pageable memory are staged and block the host).
public struct PinnedHostMemory: RawMemoryBackend {
    let driver: CUDADriver
    let context: CUcontext

    /// `pinned host memory`.
    public var name: String { "pinned host memory" }

    /// A new page-locked block, or `nil` when the driver reports out of memory.
    public func allocate(bytes: Int) throws -> UInt64? {
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        var pointer: UnsafeMutableRawPointer?
        let status = driver.cuMemAllocHost(&pointer, bytes)
        if status == CUDADriver.outOfMemory { return nil }
        try driver.check(status, "cuMemAllocHost_v2(\(bytes) bytes)")
        return UInt64(UInt(bitPattern: pointer))
    }

    /// Frees a block from ``allocate(bytes:)``.
    public func free(_ address: UInt64, bytes: Int) throws {
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        try driver.check(driver.cuMemFreeHost(UnsafeMutableRawPointer(bitPattern: UInt(address))),
                         "cuMemFreeHost(\(bytes) bytes)")
    }

    /// Unknown: page-locked memory is limited by the host's memory and its lock limits.
    public func memoryInfo() -> (free: Int, total: Int)? { nil }
}

/// Pinned host buffers, binned and reused like device memory (a training loop asks for the
/// same batch sizes every step).
///
/// Asynchronous copies read a buffer after the call that queued them has returned, so the pool
/// also keeps what such a copy reads alive: ``hold(_:untilWorkQueuedOn:)`` records an event after
/// the copy and holds the buffer's owner until ``releaseCompleted()`` finds the event complete.
/// Only then can the buffer return to the pool and be handed out again.
public final class PinnedHostPool: @unchecked Sendable {
    /// The allocator the buffers come from.
    public let allocator: CachingAllocator<PinnedHostMemory>
    private let inFlight = InFlightHolds<StreamEvent>()

    /// A pool over `backend`.
    public init(backend: PinnedHostMemory) {
        allocator = CachingAllocator(backend: backend)
    }

    /// A pinned buffer of at least `byteCount` bytes, returned to the pool when released.
    public func buffer(byteCount: Int) throws -> PinnedHostBuffer {
        try PinnedHostBuffer(byteCount: byteCount, allocator: allocator)
    }

    /// Owners held for copies not yet known to have finished.
    public var heldCount: Int { inFlight.count }

    /// Keeps `owner` (which keeps pinned memory allocated) alive until the work queued on
    /// `stream` so far, such as a copy from that memory, has finished: records an event on
    /// `stream` that a later ``releaseCompleted()`` checks.
    /// - Throws: ``CUDAError`` when the event cannot be recorded (`owner` is not held then, so
    ///   synchronise the stream before letting it go).
    public func hold(_ owner: AnyObject, untilWorkQueuedOn stream: CUstream) throws {
        let memory = allocator.backend
        try memory.driver.check(memory.driver.cuCtxSetCurrent(memory.context), "cuCtxSetCurrent")
        inFlight.hold(owner, until: try StreamEvent(recordingOn: stream, driver: memory.driver))
    }

    /// Lets go of the owners whose copies have finished, oldest first; their buffers return to
    /// the pool once nothing else holds them.
    /// - Throws: ``CUDAError`` when an event reports an error of the queued work.
    public func releaseCompleted() throws {
        guard inFlight.count > 0 else { return }
        let memory = allocator.backend
        try memory.driver.check(memory.driver.cuCtxSetCurrent(memory.context), "cuCtxSetCurrent")
        try inFlight.releaseCompleted { try $0.hasCompleted() }
    }
}

/// A page-locked host buffer from a ``PinnedHostPool``; fill it, then hand it to
/// ``CUDAContext/copyAsync(_:to:)``. It goes back to the pool on deinit, so keep it alive until
/// the copy has run (until the stream is synchronised or an event after the copy completed, as
/// ``PinnedHostPool/hold(_:untilWorkQueuedOn:)`` arranges).
public final class PinnedHostBuffer: @unchecked Sendable {
    /// The buffer's first byte.
    public let pointer: UnsafeMutableRawPointer
    /// The usable size in bytes (as requested).
    public let byteCount: Int
    private let address: UInt64
    private let allocator: CachingAllocator<PinnedHostMemory>

    init(byteCount: Int, allocator: CachingAllocator<PinnedHostMemory>) throws {
        address = try allocator.allocate(byteCount)
        guard let pointer = UnsafeMutableRawPointer(bitPattern: UInt(address)) else {
            throw CUDAError.call(library: .driver, function: "cuMemAllocHost_v2", status: 0, name: "returned NULL")
        }
        self.pointer = pointer
        self.byteCount = byteCount
        self.allocator = allocator
    }

    deinit {
        // The address came from this allocator, so giving it back cannot be a misuse.
        try? allocator.deallocate(address)
    }

    /// Copies `values` to the start of the buffer.
    public func write<T>(_ values: [T]) {
        values.withUnsafeBytes { bytes in
            precondition(bytes.count <= byteCount, "\(bytes.count) bytes do not fit a \(byteCount)-byte pinned buffer")
            if let base = bytes.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) }
        }
    }
}
