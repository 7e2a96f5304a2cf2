import ArgumentParser
import Kusari
import KusariCUDA

/// Checks that the commands can compute on `device`: the CPU always; a GPU only once Kusari's GPU
/// ops exist. Until then a GPU request says what was found and why it cannot be used.
func requireComputeDevice(_ device: Device) throws {
    guard case .cuda(let ordinal) = device else { return }
    let backend: CUDABackend
    do { backend = try CUDABackend.install(ordinal: ordinal) } catch {
        throw ValidationError("\(device) is not usable: \(error) (`kusari info` lists the GPUs and CUDA libraries found)")
    }
    throw ValidationError("\(device) (\(backend.context.device.name)) was found, but Kusari's GPU versions of the "
                          + "training ops are not wired in yet: use --device cpu")
}
