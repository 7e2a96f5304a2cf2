extension KernelSource {
    /// Placeholder until the kernels are written.
    public static let pooling = KernelSource(name: "pooling", body: "", functions: [])
}
