import Foundation
import Kusari
import KusariNN
import Testing

/// A deterministic 4-class image task: a horizontal bar, a vertical bar, a diagonal line or a
/// square blob at a random position of a noisy 16x16 image.
struct ShapesDataset {
    static let side = 16
    let images: Tensor
    let labels: Tensor

    init(count: Int, seed: UInt64) {
        let generator = Generator(seed: seed)
        let side = Self.side
        // Eight uniform draws per sample decide its class, position and size.
        let draws = Tensor.uniform([count, 8], generator: generator).scalars
        var pixels = Tensor.normal([count, 1, side, side], mean: 0, std: 0.1, generator: generator).scalars
        var labels = [Int32](repeating: 0, count: count)
        func pick(_ value: Float, _ range: ClosedRange<Int>) -> Int {
            Swift.min(range.lowerBound + Int(value * Float(range.count)), range.upperBound)
        }
        for sample in 0..<count {
            let u = Array(draws[(sample * 8)..<(sample * 8 + 8)])
            let label = sample % 4
            labels[sample] = Int32(label)
            func set(_ row: Int, _ column: Int) { pixels[sample * side * side + row * side + column] += 1 }
            switch label {
            case 0, 1:  // bar: length 7...11, thickness 1...2
                let length = pick(u[0], 7...11), thickness = pick(u[1], 1...2)
                let along = pick(u[2], 0...(side - length)), across = pick(u[3], 0...(side - thickness))
                for i in 0..<length { for t in 0..<thickness {
                    if label == 0 { set(across + t, along + i) } else { set(along + i, across + t) }
                } }
            case 2:  // diagonal: length 7...11, either direction
                let length = pick(u[0], 7...11)
                let row = pick(u[2], 0...(side - length)), column = pick(u[3], 0...(side - length))
                let descending = u[1] < 0.5
                for i in 0..<length { set(row + i, descending ? column + i : column + length - 1 - i) }
            default:  // blob: filled square 3...4 wide
                let size = pick(u[0], 3...4)
                let row = pick(u[2], 0...(side - size)), column = pick(u[3], 0...(side - size))
                for i in 0..<size { for j in 0..<size { set(row + i, column + j) } }
            }
        }
        images = Tensor(pixels, shape: [count, 1, side, side])
        self.labels = Tensor(labels, shape: [count])
    }
}

/// Conv → ReLU → MaxPool → Conv → ReLU → global pooling → Linear.
final class SmallCNN: Module, UnaryLayer {
    let conv1: Conv2d
    let pool = MaxPool2d(kernelSize: 2)
    let conv2: Conv2d
    let fc: Linear

    init(generator: Generator) {
        conv1 = Conv2d(1, 8, kernelSize: 3, padding: 1, initializer: .heNormal, generator: generator)
        conv2 = Conv2d(8, 16, kernelSize: 3, padding: 1, initializer: .heNormal, generator: generator)
        fc = Linear(16, 4, generator: generator)
        super.init()
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        fc(globalMaxPool2d(relu(conv2(pool(relu(conv1(x)))))))
    }
}

struct TrainingTests {
    @Test func smallCNNLearnsShapesWithPlainSGD() {
        let data = ShapesDataset(count: 512, seed: 7)
        let generator = Generator(seed: 8)
        let model = SmallCNN(generator: generator)
        let batchSize = 32, learningRate: Float = 0.1
        let samples = data.images.shape[0]
        var accuracy: Float = 0
        for _ in 0..<30 {
            let order = generator.permutation(samples)
            for start in stride(from: 0, to: samples, by: batchSize) {
                let indices = Tensor(order[start..<(start + batchSize)].map { Int32($0) })
                let x = data.images.indexSelect(axis: 0, indices: indices)
                let t = data.labels.indexSelect(axis: 0, indices: indices)
                model.zeroGrad()
                softmaxCrossEntropy(model(x), t).backward()
                withNoGrad {
                    for parameter in model.parameters() {
                        guard let grad = parameter.grad else { continue }
                        grad.withUnsafeFloats { g in
                            parameter.withUnsafeMutableFloats { p in
                                for i in p.indices { p[i] -= learningRate * g[i] }
                            }
                        }
                    }
                }
            }
            accuracy = withNoGrad { Kusari.accuracy(model(data.images), data.labels) }
            if accuracy >= 0.97 { break }
        }
        #expect(accuracy >= 0.95, "training accuracy \(accuracy)")
    }
}
