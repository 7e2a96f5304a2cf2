extension KernelSource {
    /// Placeholder until the kernels are written.
    public static let activation = KernelSource(name: "activation", body: "", functions: [])
}
