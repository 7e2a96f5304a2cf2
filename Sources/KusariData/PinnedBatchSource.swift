import Kusari

/// A batch source that can assemble its batches in page-locked host memory of a GPU's backend
/// (PyTorch's `DataLoader(pin_memory=True)`), from which `Batch.to(device:)` uploads them
/// asynchronously, overlapped with the work already queued on the GPU.
public protocol PinnedBatchSource: BatchSource {
    /// The device whose backend supplies the batches' pinned memory; `nil` for ordinary memory.
    var pinnedDevice: Device? { get }
    /// Assembles the batches from the next one on in pinned memory of `device`'s backend (`nil`
    /// or `.cpu`: ordinary memory). Where the backend offers no pinned memory, batches silently
    /// stay in ordinary memory.
    func pinMemory(for device: Device?)
}
