import Foundation
import Kusari

extension CUDABackend {
    /// Page-locked host memory from the context's ``PinnedHostPool`` (binned and reused), given
    /// back to the pool when the returned allocation and every copy reading it are done with it.
    /// Copies found finished are released first, so their buffers can serve this request.
    /// - Throws: ``CUDAError`` or ``OutOfMemoryError`` when `cuMemAllocHost` fails, or an error of
    ///   queued work that the completed copies' events report.
    public func allocatePinnedHost(byteCount: Int) throws -> PinnedHostAllocation? {
        let pool = context.pinnedPool
        try pool.releaseCompleted()
        let buffer = try pool.buffer(byteCount: byteCount)
        return PinnedHostAllocation(data: buffer.pointer, byteCount: buffer.byteCount, owner: buffer)
    }

    /// Queues the copy on the context's stream, where the kernels run (so they see the data with
    /// no further synchronisation), and returns at once; from pinned memory the GPU copies while
    /// the host goes on. The pool holds `owner` until an event recorded after the copy has
    /// completed (see ``PinnedHostPool/hold(_:untilWorkQueuedOn:)``).
    /// - Throws: ``CUDAError`` when the copy cannot be queued or its event recorded (the stream is
    ///   synchronised first then, so `owner` may go).
    public func copyAsync(fromHost source: UnsafeRawPointer, toDevice destination: UnsafeMutableRawPointer,
                          byteCount: Int, keepingAlive owner: AnyObject) throws {
        guard byteCount > 0 else { return }
        let pool = context.pinnedPool
        try pool.releaseCompleted()
        try context.makeCurrent()
        let driver = context.driver
        try driver.check(driver.cuMemcpyHtoDAsync(CUdeviceptr(UInt(bitPattern: destination)), source, byteCount,
                                                  context.stream),
                         "cuMemcpyHtoDAsync_v2(\(byteCount) bytes)")
        do {
            try pool.hold(owner, untilWorkQueuedOn: context.stream)
        } catch {
            try context.synchronize()
            throw error
        }
    }
}
