import Foundation

/// A CUDA event recorded on a stream after the work queued so far, which tells whether that
/// work has finished without waiting for it. Destroyed on deinit.
final class StreamEvent: @unchecked Sendable {
    /// `CU_EVENT_DISABLE_TIMING`: the event only marks completion (cheaper to record).
    private static let disableTiming: UInt32 = 2
    /// `CUDA_ERROR_NOT_READY`: the work before the event is still running.
    private static let notReady: CUresult = 600

    private let driver: CUDADriver
    private let event: CUevent

    /// Creates an event and records it on `stream` (in the current context).
    /// - Throws: ``CUDAError`` when the event cannot be created or recorded.
    init(recordingOn stream: CUstream, driver: CUDADriver) throws {
        var event: CUevent?
        try driver.check(driver.cuEventCreate(&event, Self.disableTiming), "cuEventCreate")
        guard let event else { throw CUDAError.noDevice("cuEventCreate returned no event") }
        self.driver = driver
        self.event = event
        // Fully initialised: a failed record still destroys the event in deinit.
        try driver.check(driver.cuEventRecord(event, stream), "cuEventRecord")
    }

    deinit {
        _ = driver.cuEventDestroy(event)
    }

    /// Whether the work queued before the event has finished.
    /// - Throws: ``CUDAError`` for an error of that work (a faulting kernel) or of the query.
    func hasCompleted() throws -> Bool {
        let status = driver.cuEventQuery(event)
        if status == Self.notReady { return false }
        try driver.check(status, "cuEventQuery")
        return true
    }
}
