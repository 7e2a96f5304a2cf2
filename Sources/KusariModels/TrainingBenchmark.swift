import Foundation
import Kusari
import KusariNN
import KusariOptim

/// Times full training steps (forward, softmax cross-entropy, backward, MomentumSGD update) of a
/// seed network on fixed random data, on the CPU or a GPU, in float32 or with mixed precision
/// (the forward pass and loss under ``Kusari/Autocast``; float16 steps go through a
/// ``KusariOptim/DynamicLossScaler``, as PyTorch's `GradScaler` recipe does).
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
    /// The autocast dtype (`.bfloat16` or `.float16`), or `nil` for float32 steps.
    public let mixedPrecision: DType?
    /// The settings of the loss scaler of float16 steps.
    public let lossScaling: DynamicLossScaler.Settings

    /// - Precondition: `mixedPrecision` is `nil`, `.float16` or `.bfloat16`; `lossScaling` has no
    ///   ``KusariOptim/DynamicLossScaler/Settings/problems``.
    public init(model: BenchmarkModel, batchSize: Int, mixedPrecision: DType? = nil,
                lossScaling: DynamicLossScaler.Settings = .init()) {
        precondition(mixedPrecision == nil || mixedPrecision == .float16 || mixedPrecision == .bfloat16,
                     "TrainingBenchmark: mixed precision needs float16 or bfloat16, got \(mixedPrecision.map { "\($0)" } ?? "nil")")
        self.model = model
        self.batchSize = batchSize
        self.mixedPrecision = mixedPrecision
        self.lossScaling = lossScaling
    }

    /// Runs `warmup` untimed steps on the CPU, then timed steps until `seconds` have passed (at
    /// least five).
    public func run(warmup: Int, seconds: Double) -> Result {
        let (network, images, labels) = makeInputs()
        return time(network, images, labels, warmup: warmup, seconds: seconds)
    }

    /// Runs the same benchmark with the network and data on `device` (the same weights and data
    /// as on the CPU). Every step reads its loss back, so the timing covers the device's work.
    /// - Throws: when no backend serves `device` or its memory runs out.
    public func run(warmup: Int, seconds: Double, on device: Device) throws -> Result {
        let (network, images, labels) = makeInputs()
        try network.move(to: device)
        return time(network, try images.to(device: device), try labels.to(device: device), warmup: warmup,
                    seconds: seconds)
    }

    /// The network in training mode and one batch of random images and labels, all drawn from
    /// seed 0.
    private func makeInputs() -> (any Module & UnaryLayer, Tensor, Tensor) {
        let generator = Generator(seed: 0)
        let network = model.makeNetwork(generator: generator)
        network.train()
        let images = Tensor.normal([batchSize] + model.inputShape, generator: generator)
        let labels = Tensor.randint([batchSize], low: 0, high: model.classes, generator: generator)
        return (network, images, labels)
    }

    private func time(_ network: any Module & UnaryLayer, _ images: Tensor, _ labels: Tensor, warmup: Int,
                      seconds: Double) -> Result {
        let optimizer = MomentumSGD(network, learningRate: 0.01, momentum: 0.9)
        let scaler = mixedPrecision == .float16 ? DynamicLossScaler(lossScaling) : nil
        func forward() -> Tensor { softmaxCrossEntropy(network(images), labels) }
        func step() {
            optimizer.zeroGrad()
            let loss = OpProfiler.measure("step: forward") { () -> Tensor in
                guard let autocast = mixedPrecision else { return forward() }
                return Autocast.run(autocast, forward)
            }
            OpProfiler.measure("step: backward") { (scaler?.scaled(loss) ?? loss).backward() }
            OpProfiler.measure("step: update") {
                if let scaler { scaler.step(optimizer) } else { optimizer.step() }
            }
            // Waits for the device to finish the step (a no-op wait on the CPU).
            _ = loss.item()
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
