import Kusari
import KusariData

extension Batch {
    /// This batch with its inputs and labels on `device` (the batch itself when already there).
    /// - Throws: as `Tensor.to(device:)`: no backend serves `device`, or the copy failed.
    public func to(device: Device) throws -> Batch {
        guard inputs.device != device || labels.device != device else { return self }
        return Batch(inputs: try inputs.to(device: device), labels: try labels.to(device: device))
    }
}
