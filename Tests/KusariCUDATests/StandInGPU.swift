import Kusari
import Testing
@testable import KusariCUDA

/// The device ordinals the suites register their stand-in GPUs as: each its own, above the
/// ordinals other suites register emulated devices as or use as unserved ones.
enum StandInOrdinal {
    static let kernelLaunches = 120, matrixProducts = 121, convolutions = 122, batchNorm = 123, localResponseNorm = 124
    static let emulatedKernels = 125
}

/// A ``CUDABackend`` on the CPU stand-ins: the ``RecordingDriver`` (host memory, kernels
/// recorded, not run) and the ``ReferenceBLAS`` (GEMMs computed on the CPU), with NVRTC compiling
/// the real kernels to PTX. `nil`, after the skip message, without NVRTC.
func standInGPU(ordinal: Int, _ test: String) throws -> CUDABackend? {
    guard let nvrtc = nvrtcOrSkip(test) else { return nil }
    let context = try CUDAContext(ordinal: ordinal, driver: CUDADriver(library: RecordingDriver()))
    let backend = CUDABackend(context: context,
                              kernels: try KernelLibrary(nvrtc: nvrtc, target: .ptx(90), cacheDirectory: nil),
                              cublas: { try CUBLAS(library: ReferenceBLAS()) },
                              cudnn: { try CUDNN(library: ReferenceDNN()) })
    try #require(DeviceBackends.backend(for: backend.device) == nil, "\(backend.device) is taken by another suite")
    DeviceBackends.register(backend)
    return backend
}
