import Foundation

extension CUDABackend {
    /// A one-word device flag holding `UInt64.max`, which kernels lower with `atomicMin` to the
    /// lowest bad position they find; hand it to ``checkLater(_:report:)``.
    func badPositionFlag() throws -> DeviceBuffer {
        let flag = try context.allocate(UInt64.self, count: 1)
        try context.fill(flag, words: 2, pattern: .max)
        return flag
    }

    /// Queues the check of `flag` (see ``DeferredChecks``): `report` throws the error for the bad
    /// position a kernel left there, at the next copy to or from the host. When the queue is
    /// full, the waiting checks are made first.
    /// - Throws: the error of a waiting check, or ``CUDAError`` when the wait for them fails.
    func checkLater(_ flag: DeviceBuffer, report: @escaping (_ position: Int) throws -> Void) throws {
        if deferredChecks.isFull { try makingDeferredChecks(around: context.synchronize) }
        deferredChecks.add(flag, report: report)
    }

    /// Runs `wait`, which must wait for the stream (a copy to the host and a synchronisation),
    /// with the flags of every waiting check copied to pinned host memory just before it, so the
    /// host waits once for both; then throws the error of the oldest check that found something.
    /// - Throws: what `wait` throws, the error of a check, or ``CUDAError`` when a flag cannot
    ///   be copied.
    func makingDeferredChecks(around wait: () throws -> Void) throws {
        let checks = deferredChecks.takeAll()
        guard !checks.isEmpty else { return try wait() }
        let stride = MemoryLayout<UInt64>.stride
        let flags = try context.pinnedPool.buffer(byteCount: checks.count * stride)
        try context.makeCurrent()
        let driver = context.driver
        for (slot, check) in checks.enumerated() {
            try driver.check(driver.cuMemcpyDtoHAsync(flags.pointer + slot * stride, check.flag.address, stride,
                                                      context.stream),
                             "cuMemcpyDtoHAsync_v2(\(stride) bytes)")
        }
        try wait()
        let positions = checks.indices.map { slot -> Int? in
            let position = flags.pointer.load(fromByteOffset: slot * stride, as: UInt64.self)
            return position == .max ? nil : Int(position)
        }
        try DeferredChecks.report(checks, positions: positions)
    }
}
