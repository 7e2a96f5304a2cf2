import KusariModels
import Testing

/// One full training step of every seed network on the emulated GPU of ``EmulatedOpParityTests``
/// (the project's kernels compiled for the CPU, the cuBLAS and cuDNN stand-ins) against the CPU:
/// the check ``TrainingStepParityTests`` makes on a GPU, same batch of 8 and same tolerances, on
/// a machine without one. A batch of 2 is not enough: batch normalisation over so few samples
/// magnifies summation-order differences beyond the tolerance in VGG's first layers.
@Suite(.serialized)
struct EmulatedTrainingStepTests {
    @Test(arguments: BenchmarkModel.allCases)
    func oneStepMatchesTheCPU(_ model: BenchmarkModel) throws {
        guard let backend = try EmulatedOpParityTests.gpu.get() else { return }
        try TrainingStepParityTests.compareOneStep(model, batch: 8, on: backend.device)
    }
}
