import Foundation
import Kusari
import KusariData
import KusariNN
import KusariOptim
@testable import KusariTrain

/// An in-memory batch source over `[count, features]` inputs with Chainer's `SerialIterator`
/// behaviour: seeded shuffling per epoch, a short last batch, repeating or one pass.
final class ArraySource: BatchSource {
    let inputs: [Float]
    let labels: [Int32]
    let features: Int
    let batchSize: Int
    let shuffle: Bool
    let repeating: Bool
    let generator: Generator
    private(set) var epoch = 0
    private(set) var isNewEpoch = false
    private var position = 0
    private var order: [Int]

    init(inputs: [Float], labels: [Int32], batchSize: Int, shuffle: Bool, repeating: Bool, seed: UInt64 = 7) {
        self.inputs = inputs
        self.labels = labels
        self.features = inputs.count / labels.count
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.repeating = repeating
        self.generator = Generator(seed: seed)
        self.order = Array(0..<labels.count)
        if shuffle { order = generator.permutation(labels.count) }
    }

    var count: Int { labels.count }
    var batchesPerEpoch: Int { (count + batchSize - 1) / batchSize }
    var epochDetail: Double { Double(epoch) + Double(position) / Double(count) }

    func next() -> Batch? {
        if !repeating && epoch > 0 { return nil }
        let end = min(position + batchSize, count)
        let indices = Array(order[position..<end])
        position = end
        isNewEpoch = position == count
        if isNewEpoch {
            epoch += 1
            position = 0
            if shuffle { order = generator.permutation(count) }
        }
        var x: [Float] = []
        for i in indices { x += inputs[(i * features)..<((i + 1) * features)] }
        return Batch(inputs: Tensor(x, shape: [indices.count, features]),
                     labels: Tensor(indices.map { labels[$0] }, shape: [indices.count]))
    }

    func reset() {
        epoch = 0
        position = 0
        isNewEpoch = false
        order = shuffle ? generator.permutation(count) : Array(0..<count)
    }

    func stateDict() -> [(String, Tensor)] {
        let (seed, offset) = generator.state
        return [("epoch", Tensor([Int64(epoch)], shape: [])), ("position", Tensor([Int64(position)], shape: [])),
                ("is_new_epoch", Tensor([Int64(isNewEpoch ? 1 : 0)], shape: [])),
                ("order", Tensor(order.map { Int64($0) }, shape: [count])),
                ("seed", Tensor([Int64(bitPattern: seed)], shape: [])),
                ("offset", Tensor([Int64(bitPattern: offset)], shape: []))]
    }

    func loadStateDict(_ state: [(String, Tensor)]) throws {
        let values = Dictionary(state, uniquingKeysWith: { $1 })
        func int(_ key: String) -> Int64 { values[key]!.toArray(of: Int64.self)[0] }
        epoch = Int(int("epoch"))
        position = Int(int("position"))
        isNewEpoch = int("is_new_epoch") != 0
        order = values["order"]!.toArray(of: Int64.self).map { Int($0) }
        generator.state = (UInt64(bitPattern: int("seed")), UInt64(bitPattern: int("offset")))
    }
}

/// Deterministic synthetic classification data: `count` points with 4 features, 3 classes.
func syntheticData(count: Int, offset: Int = 0) -> (inputs: [Float], labels: [Int32]) {
    var inputs: [Float] = []
    var labels: [Int32] = []
    for n in 0..<count {
        let i = n + offset
        let label = i % 3
        for f in 0..<4 {
            inputs.append(Float(sin(Double(i * 7 + f * 3))) * 0.5 + (f == label ? 1 : 0))
        }
        labels.append(Int32(label))
    }
    return (inputs, labels)
}

/// An updater that trains nothing: each update advances the position and reports
/// `values(iteration)`; `batchesPerEpoch` iterations make an epoch.
final class FakeUpdater: Updater {
    private(set) var iteration = 0
    let batchesPerEpoch: Int
    private(set) var previousEpochDetail = 0.0
    let model: Module = Module()
    let values: (Int) -> Observation

    init(batchesPerEpoch: Int, values: @escaping (Int) -> Observation = { _ in Observation() }) {
        self.batchesPerEpoch = batchesPerEpoch
        self.values = values
    }

    var epochDetail: Double { Double(iteration) / Double(batchesPerEpoch) }
    var epoch: Int { iteration / batchesPerEpoch }
    var isNewEpoch: Bool { iteration > 0 && iteration % batchesPerEpoch == 0 }

    func update(reporter: Reporter) throws {
        previousEpochDetail = epochDetail
        iteration += 1
        reporter.report(values(iteration))
    }

    func stateDict() -> [(String, Tensor)] {
        [("iteration", StateCoding.int(iteration)), ("previous_epoch_detail", StateCoding.double(previousEpochDetail))]
    }

    func loadStateDict(_ state: [(String, Tensor)]) throws {
        iteration = try StateCoding.int(StateCoding.require(state, "iteration", in: "fake"), key: "iteration")
        previousEpochDetail = try StateCoding.double(StateCoding.require(state, "previous_epoch_detail", in: "fake"),
                                                     key: "previous_epoch_detail")
    }
}

/// Records the iterations at which it runs.
final class Recorder: Extension {
    private(set) var iterations: [Int] = []
    func callAsFunction(_ trainer: Trainer) throws { iterations.append(trainer.updater.iteration) }
}

/// A fresh empty temporary folder.
func temporaryDirectory(_ label: String = #function) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("kusari-train-\(label.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The raw bit patterns of a state dict's float tensors, for bit-exact comparisons.
func bits(_ state: [(String, Tensor)]) -> [String: [UInt32]] {
    var result: [String: [UInt32]] = [:]
    for (key, tensor) in state where tensor.dtype == .float32 {
        result[key] = tensor.toArray(of: Float.self).map(\.bitPattern)
    }
    return result
}
