extension Tensor {
    /// This tensor on `target`. CPU tensors stay as they are; this build has no GPU backend, so
    /// asking for `cuda` throws a clear error instead of silently running on the CPU.
    public func to(device target: Device) throws -> Tensor {
        switch target {
        case .cpu:
            return self
        case .cuda(let index):
            throw KusariError.unsupportedDevice("cuda:\(index) requested, but this build of Kusari has no GPU backend")
        }
    }
}
