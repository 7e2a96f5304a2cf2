import ArgumentParser
import Kusari
import KusariCUDA

/// Prepares `device` for the commands: nothing to do for the CPU; for `cuda:N`, opens the GPU and
/// installs Kusari's CUDA backend, so that tensors and models moved there compute on it.
///
/// - Parameters:
///   - deterministic: require deterministic algorithms (`DeterministicAlgorithms.isEnabled`, which
///     the CUDA backend follows with deterministic cuDNN algorithms and scatter-adds), so that two
///     runs from the same seed give identical weights.
///   - allowsTF32: let cuBLAS and cuDNN use TF32 tensor cores for float32 products (faster,
///     about 1e-3 relative difference from the CPU); ignored on the CPU.
/// - Throws: `ValidationError` saying what was found when the GPU cannot be used.
func requireComputeDevice(_ device: Device, deterministic: Bool = false, allowsTF32: Bool = false) throws {
    if deterministic { DeterministicAlgorithms.isEnabled = true }
    guard case .cuda(let ordinal) = device else { return }
    let backend: CUDABackend
    do { backend = try CUDABackend.install(ordinal: ordinal) } catch {
        throw ValidationError("\(device) is not usable: \(error) (`kusari info` lists the GPUs and CUDA libraries found)")
    }
    backend.allowsTF32 = allowsTF32
}

/// The device named by `--device` and the Chainer-style `-g/--gpu` id (which wins when given).
/// - Throws: `ValidationError` for a name that is not `cpu`, `cuda`, `cuda:N` or a GPU id.
func parseDevice(_ name: String, gpu: Int? = nil) throws -> Device {
    if let gpu { return gpu < 0 ? .cpu : .cuda(gpu) }
    guard let device = Device(parsing: name) else {
        throw ValidationError("unknown device '\(name)': use cpu, cuda or cuda:N")
    }
    return device
}
