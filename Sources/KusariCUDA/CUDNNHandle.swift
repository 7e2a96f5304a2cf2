/// A cuDNN handle bound to a context's stream; create it with the context current.
public final class CUDNNHandle {
    /// The binding the handle's calls go through.
    public let cudnn: CUDNN
    let handle: CUDNN.Handle

    /// Creates a handle whose work goes to `stream`.
    public init(cudnn: CUDNN, stream: CUstream?) throws {
        self.cudnn = cudnn
        var handle: CUDNN.Handle?
        try cudnn.check(cudnn.cudnnCreate(&handle), "cudnnCreate")
        guard let handle else { throw CUDAError.noDevice("cudnnCreate returned no handle") }
        self.handle = handle
        try cudnn.check(cudnn.cudnnSetStream(handle, stream), "cudnnSetStream")
    }

    deinit { _ = cudnn.cudnnDestroy(handle) }
}
