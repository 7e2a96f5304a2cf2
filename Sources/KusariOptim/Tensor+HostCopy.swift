import Kusari

extension Tensor {
    /// A contiguous float32 copy of this tensor in host memory (downloaded from a GPU), sharing
    /// nothing with it and cut off from the autodiff graph.
    func hostCopy() -> Tensor {
        Tensor(toArray(of: Float.self), shape: shape)
    }
}
