import Kusari
import KusariTestSupport
import Testing
@testable import KusariCUDA

/// Every case of ``OpParityCatalogue`` through the whole CUDA backend against the CPU, on a
/// machine without a GPU: the backend's host code, the project's kernel sources (compiled as C++
/// by ``KernelEmulator`` and run by the ``RecordingDriver``) and the ``ReferenceBLAS`` and
/// ``ReferenceDNN`` stand-ins for cuBLAS and cuDNN, with the tolerances of `OpParityTests`.
///
/// What it shows: the kernels compute what the CPU computes (Philox streams, conversions,
/// broadcasting, reductions, indexing, pooling, softmax, losses, optimizers) and the backend
/// drives them and the libraries correctly. What only `OpParityTests` on a GPU can show: the GPU's
/// own math library rounding, real cuBLAS/cuDNN algorithms, concurrency. Needs NVRTC (the backend
/// compiles the kernels for the driver) and a C++ compiler: skipped with a message without them.
@Suite(.serialized)
struct EmulatedOpParityTests {
    /// The stand-in GPU running the emulated kernels, built once for every case.
    static let gpu: Result<CUDABackend?, Error> = Result {
        try emulatedGPU(ordinal: StandInOrdinal.emulatedKernels, "the emulated op parity catalogue")
    }

    @Test(arguments: OpParityCatalogue.all.map(\.name))
    func matchesTheCPU(_ name: String) throws {
        guard let backend = try Self.gpu.get() else { return }
        let parityCase = try #require(OpParityCatalogue.all.first { $0.name == name })
        for failure in OpParity.check(parityCase, on: backend.device, tolerances: OpParityTests.tolerances) {
            Issue.record("\(name): \(failure)")
        }
    }
}
