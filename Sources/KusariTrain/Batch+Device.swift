import Kusari
import KusariData

extension Batch {
    /// This batch with its inputs and labels on `device` (the batch itself when already there).
    /// Tensors in pinned host memory (from a loader that pins its batches) are uploaded
    /// asynchronously, overlapped with the work already queued on the device, so the batch must
    /// not be written to afterwards.
    /// - Throws: as `Tensor.to(device:nonBlocking:)`: no backend serves `device`, or the copy failed.
    public func to(device: Device) throws -> Batch {
        guard inputs.device != device || labels.device != device else { return self }
        return Batch(inputs: try inputs.to(device: device, nonBlocking: true),
                     labels: try labels.to(device: device, nonBlocking: true))
    }
}
