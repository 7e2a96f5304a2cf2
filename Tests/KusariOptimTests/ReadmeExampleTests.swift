import Foundation
import Testing
import Kusari
import KusariNN
import KusariOptim

/// The library example in README.md, kept compiling and working.
struct ReadmeExampleTests {
    @Test func readmeExampleTrainsAndSaves() throws {
        let model = Sequential([Conv2d(3, 16, kernelSize: 5), ReLU(), MaxPool2d(kernelSize: 4), Flatten(),
                                Linear(16 * 7 * 7, 10)])
        let optimizer = MomentumSGD(model, learningRate: 0.001, momentum: 0.9)
        let images = Tensor.normal([8, 3, 32, 32]), labels = Tensor.randint([8], low: 0, high: 10)
        var losses: [Float] = []
        for _ in 0..<5 {
            optimizer.zeroGrad()
            let loss = softmaxCrossEntropy(model(images), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        }
        #expect(losses.last! < losses.first!)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID().uuidString).npz")
        defer { try? FileManager.default.removeItem(at: file) }
        try model.save(to: file)
        #expect(try NPZ.read(from: file).keys.sorted() == ["0.W", "0.b", "4.W", "4.b"])
    }
}
