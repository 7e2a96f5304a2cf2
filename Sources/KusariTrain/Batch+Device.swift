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

extension Tensor {
    /// A copy in host memory sharing nothing with this tensor (downloaded from a GPU), cut off
    /// from the autodiff graph, for state dicts.
    func hostCopy() -> Tensor {
        device == .cpu ? withNoGrad { detach().contiguousCopy() } : Tensor(npy: npyArray)
    }
}
