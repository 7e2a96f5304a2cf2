import Foundation
import Kusari
import KusariNN
import Testing

struct CheckpointTests {
    private func temporaryURL(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("kusari-nn-\(UUID().uuidString)-\(name)")
    }

    @Test func stateDictRoundTripsThroughNPZ() throws {
        let source = TestNet()
        // Make the running statistics non-trivial.
        _ = source.blocks[0](source.stem(lcgTensor([2, 3, 6, 6], seed: 1)))
        let url = temporaryURL("model.npz")
        defer { try? FileManager.default.removeItem(at: url) }
        try source.save(to: url)

        let members = try NPZ.read(from: url)
        #expect(Set(members.keys) == Set(source.stateDict().map(\.0)))
        #expect(members["blocks.0.conv.W"]?.shape == [4, 4, 3, 3])

        let target = TestNet()
        try target.load(from: url)
        for ((name, a), (_, b)) in zip(source.stateDict(), target.stateDict()) {
            #expect(a.scalars == b.scalars, "\(name)")
        }
        // Compressed archives load too, and the model still computes the same function.
        let compressed = temporaryURL("model-compressed.npz")
        defer { try? FileManager.default.removeItem(at: compressed) }
        try source.save(to: compressed, compressed: true)
        let other = TestNet()
        try other.load(from: compressed)
        source.eval()
        other.eval()
        let x = lcgTensor([1, 3, 6, 6], seed: 2)
        #expect(maxAbsDiff(source.blocks[1](source.blocks[0](source.stem(x))).scalars,
                           other.blocks[1](other.blocks[0](other.stem(x))).scalars) < 1e-6)
    }

    @Test func loadingAMismatchedArchiveThrowsStateDictError() throws {
        let url = temporaryURL("small.npz")
        defer { try? FileManager.default.removeItem(at: url) }
        try Sequential(Conv2d(3, 16, kernelSize: 5)).save(to: url)
        let model = Sequential(Conv2d(3, 16, kernelSize: 3), Linear(2, 2))
        #expect {
            try model.load(from: url)
        } throws: { error in
            (error as? StateDictError)?.description == "cannot load state dict: missing keys: 1.W, 1.b; "
                + "shape mismatches: 0.W: checkpoint [16,3,5,5], model [16,3,3,3]"
        }
    }

    @Test func loadsChainerStyleArchives() throws {
        // What Chainer's save_npz writes for an RCL followed by BatchNormalization inside a Classifier.
        final class Block: Module {
            let rcl = RCL(steps: 2, channels: 2)
            let bnorm = BatchNorm(2)
        }
        let k = 2 * 2 * 3 * 3
        let arrays: [(name: String, array: NPYArray)] = [
            ("predictor/rcl/conv_r/W", NPYArray(doubles: (0..<k).map { Double($0) }, shape: [2, 2, 3, 3])),
            ("predictor/rcl/conv_r/b", NPYArray(floats: [1, 2], shape: [2])),
            ("predictor/rcl/conv_ff/W", NPYArray(floats: (0..<k).map { -Float($0) }, shape: [2, 2, 3, 3])),
            ("predictor/rcl/conv_ff/b", NPYArray(floats: [3, 4], shape: [2])),
            ("predictor/bnorm/gamma", NPYArray(floats: [5, 6], shape: [2])),
            ("predictor/bnorm/beta", NPYArray(floats: [7, 8], shape: [2])),
            ("predictor/bnorm/avg_mean", NPYArray(floats: [9, 10], shape: [2])),
            ("predictor/bnorm/avg_var", NPYArray(floats: [11, 12], shape: [2])),
            ("predictor/bnorm/N", NPYArray(int64s: [42], shape: [])),
            ("optimizer/t", NPYArray(int64s: [1], shape: [])),
        ]
        let url = temporaryURL("chainer.npz")
        defer { try? FileManager.default.removeItem(at: url) }
        try NPZ.write(arrays, to: url)

        let model = Block()
        #expect(throws: StateDictError.self) { try model.load(from: url, prefix: "predictor/") }
        try model.load(from: url, prefix: "predictor/", strict: false)
        #expect(model.rcl.convR.W.scalars == (0..<k).map { Float($0) })
        #expect(model.rcl.convFF.b!.scalars == [3, 4])
        #expect(model.bnorm.gamma!.scalars == [5, 6])
        #expect(model.bnorm.avgMean!.scalars == [9, 10])
        #expect(model.bnorm.avgVar!.scalars == [11, 12])
    }
}
