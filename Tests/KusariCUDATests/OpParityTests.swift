import Kusari
import KusariCUDA
import KusariTestSupport
import Testing

/// Every case of ``OpParityCatalogue`` on the real GPU through the registered ``CUDABackend``,
/// against the CPU: values, gradients, in-place updates (batch-norm running statistics) and
/// generator states. Skipped with a message without a GPU (failed with `KUSARI_REQUIRE_GPU`).
///
/// A GPU value `g` matches the CPU's `c` when `|g - c| <= tolerance * max(1, |c|)`, with these
/// tolerances per ``OpParityPrecision``:
/// - `exact` 0: comparisons, `argmax`/`argmin`, fills, dtype conversions, copies, concatenation
///   and uniform, Bernoulli and integer draws (the Philox streams match bit for bit);
/// - `elementwise` 1e-5: elementwise math and activations (CUDA's `expf`, `tanhf`, `erff`… are
///   within a few ulps of glibc's), normal draws, dropout, and indexing whose gradients sum a
///   few rows with atomics;
/// - `accumulated` 1e-4: reductions, cuBLAS products (full float32: TF32 is opt-in), cuDNN
///   convolution, pooling and batch norm, local response norm, softmax and cross-entropy, whose
///   sums run in another order.
///
/// The backend-method names of each case are not checked here (the CUDA backend keeps no call
/// counts); `DeviceDispatchTests` checks them on the emulated device.
@Suite(.serialized)
struct OpParityTests {
    /// The tolerances above.
    static let tolerances = OpParityTolerances(exact: 0, elementwise: 1e-5, accumulated: 1e-4)

    /// One case per test case, in order, so a case that stops the process names itself in the
    /// runner's output (the last one started).
    @Test(arguments: OpParityCatalogue.all.map(\.name))
    func matchesTheCPU(_ name: String) throws {
        guard let gpu = GPU.orSkip("the op parity catalogue (\(OpParityCatalogue.all.count) cases)") else { return }
        let parityCase = try #require(OpParityCatalogue.all.first { $0.name == name })
        for failure in OpParity.check(parityCase, on: gpu.backend.device, tolerances: Self.tolerances) {
            Issue.record("\(name): \(failure)")
        }
    }
}
