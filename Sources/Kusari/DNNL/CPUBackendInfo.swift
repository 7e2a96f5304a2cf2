import CDNNL

/// What the oneDNN CPU backend reports about itself.
public struct CPUBackendInfo: Sendable {
    /// oneDNN version, e.g. `2.6.3`.
    public let version: String
    /// The instruction set oneDNN's kernels use on this CPU, e.g. `avx2`.
    public let isa: String
    /// The threading runtime oneDNN was built with.
    public let runtime: String

    /// Information about the oneDNN library loaded in this process.
    public static var current: CPUBackendInfo {
        let v = dnnl_version()!.pointee
        let isa: String
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_sse41: isa = "sse4.1"
        case dnnl_cpu_isa_avx: isa = "avx"
        case dnnl_cpu_isa_avx2: isa = "avx2"
        case dnnl_cpu_isa_avx512_core: isa = "avx512"
        default: isa = "isa \(dnnl_get_effective_cpu_isa().rawValue)"
        }
        return CPUBackendInfo(version: "\(v.major).\(v.minor).\(v.patch)", isa: isa,
                              runtime: v.cpu_runtime == UInt32(DNNL_RUNTIME_OMP) ? "OpenMP" : "other")
    }
}
