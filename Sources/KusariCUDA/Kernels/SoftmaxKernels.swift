extension KernelSource {
    /// Placeholder until the kernels are written.
    public static let softmax = KernelSource(name: "softmax", body: "", functions: [])
}
