import Foundation
import Kusari
import KusariNN
import KusariOptim

/// Times full training steps (forward, softmax cross-entropy, backward, MomentumSGD update) of a
/// seed network on fixed random data.
public struct TrainingBenchmark {
    /// What one benchmark run measured.
    public struct Result: Sendable {
        public let batchSize: Int
        public let parameters: Int
        public let iterations: Int
        public let seconds: Double
        public var imagesPerSecond: Double { Double(batchSize * iterations) / seconds }
    }

    public let model: BenchmarkModel
    public let batchSize: Int

    public init(model: BenchmarkModel, batchSize: Int) {
        self.model = model
        self.batchSize = batchSize
    }

    /// Runs `warmup` untimed steps, then timed steps until `seconds` have passed (at least five).
    public func run(warmup: Int, seconds: Double) -> Result {
        let generator = Generator(seed: 0)
        let network = model.makeNetwork()
        network.train()
        let optimizer = MomentumSGD(network, learningRate: 0.01, momentum: 0.9)
        let images = Tensor.normal([batchSize] + model.inputShape, generator: generator)
        let labels = Tensor.randint([batchSize], low: 0, high: model.classes, generator: generator)

        func step() {
            optimizer.zeroGrad()
            let loss = OpProfiler.measure("step: forward") { softmaxCrossEntropy(network(images), labels) }
            OpProfiler.measure("step: backward") { loss.backward() }
            OpProfiler.measure("step: update") { optimizer.step() }
        }
        for _ in 0..<warmup { step() }
        var iterations = 0
        let start = Date()
        while iterations < 5 || Date().timeIntervalSince(start) < seconds {
            step()
            iterations += 1
        }
        return Result(batchSize: batchSize, parameters: network.parameterCount, iterations: iterations,
                      seconds: Date().timeIntervalSince(start))
    }
}
