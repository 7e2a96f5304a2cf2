import Foundation
@testable import KusariData
import Testing

struct MNISTTests {
    @Test(arguments: [true, false])
    func readsBothSplitsExactly(gzip: Bool) throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let train = DataFixtures.idxSplit(count: 12, seed: 1), test = DataFixtures.idxSplit(count: 5, seed: 2)
        try DataFixtures.writeIDX(train, prefix: "train", to: directory, gzip: gzip)
        try DataFixtures.writeIDX(test, prefix: "t10k", to: directory, gzip: gzip)

        let loaded = try MNIST.load(directory: directory, split: .train)
        #expect(loaded.count == 12)
        #expect(loaded.imageShape == [1, 28, 28])
        #expect(loaded.images == train.images)
        #expect(loaded.labels == train.labels.map(Int32.init))
        #expect(loaded.classNames == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"])
        let example = loaded.example(at: 3)
        #expect(example.label == Int(train.labels[3]))
        #expect(example.pixels[5] == Float(train.images[3 * 784 + 5]) / 255)

        let loadedTest = try MNIST.load(directory: directory, split: .test)
        #expect(loadedTest.images == test.images)
        #expect(loadedTest.labels == test.labels.map(Int32.init))
    }

    @Test func findsTheMnistSubfolderAndFashionMNIST() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let digits = DataFixtures.idxSplit(count: 4, seed: 3), clothes = DataFixtures.idxSplit(count: 6, seed: 4)
        try DataFixtures.writeIDX(digits, prefix: "t10k", to: directory.appendingPathComponent("mnist"), gzip: true)
        try DataFixtures.writeIDX(clothes, prefix: "t10k", to: directory.appendingPathComponent("fashion-mnist"), gzip: true)
        #expect(try MNIST.load(directory: directory, split: .test).images == digits.images)
        let fashion = try FashionMNIST.load(directory: directory, split: .test)
        #expect(fashion.images == clothes.images)
        #expect(fashion.classNames == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"])
        // Also the folder itself.
        #expect(try FashionMNIST.load(directory: directory.appendingPathComponent("fashion-mnist"), split: .test).count == 6)
    }

    @Test func missingFilesSayHowToDownload() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = caughtDatasetError { _ = try MNIST.load(directory: directory, split: .train) }
        #expect(error?.file.hasSuffix("train-images-idx3-ubyte.gz") == true)
        #expect(error?.description.contains("kusari data download mnist") == true)
    }

    @Test func wrongMagicNamesFileOffsetAndExpectation() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let split = DataFixtures.idxSplit(count: 3, seed: 5)
        try DataFixtures.writeIDX(split, prefix: "train", to: directory, gzip: true)
        // Swap the files' roles: a label file where the images should be.
        let images = directory.appendingPathComponent("train-images-idx3-ubyte.gz")
        try DataFixtures.write(Gzip.compress(IDX.encode(dimensions: [3], bytes: split.labels)), to: images)
        let error = caughtDatasetError { _ = try MNIST.load(directory: directory, split: .train) }
        #expect(error?.file == images.path)
        #expect(error?.location == "byte offset 0 (magic number)")
        #expect(error?.message.contains("expected 2051") == true)
        #expect(error?.message.contains("found 2049") == true)
    }

    @Test func countMismatchBetweenImagesAndLabels() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let split = DataFixtures.idxSplit(count: 4, seed: 6)
        try DataFixtures.writeIDX(split, prefix: "train", to: directory, gzip: false)
        let labels = directory.appendingPathComponent("train-labels-idx1-ubyte")
        try DataFixtures.write(IDX.encode(dimensions: [3], bytes: Array(split.labels.prefix(3))), to: labels)
        let error = caughtDatasetError { _ = try MNIST.load(directory: directory, split: .train) }
        #expect(error?.file == labels.path)
        #expect(error?.location.contains("item count") == true)
        #expect(error?.message.contains("3 labels") == true)
        #expect(error?.message.contains("4 images") == true)
    }

    @Test func truncatedPixelsAndTruncatedGzip() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let split = DataFixtures.idxSplit(count: 4, seed: 7)
        try DataFixtures.writeIDX(split, prefix: "t10k", to: directory, gzip: true)
        let images = directory.appendingPathComponent("t10k-images-idx3-ubyte.gz")
        let full = IDX.encode(dimensions: [4, 28, 28], bytes: split.images)

        // Valid gzip of a short IDX file: the data is truncated.
        try DataFixtures.write(Gzip.compress(Array(full.dropLast(100))), to: images)
        let short = caughtDatasetError { _ = try MNIST.load(directory: directory, split: .test) }
        #expect(short?.file == images.path)
        #expect(short?.location == "byte offset 16 (data)")
        #expect(short?.message.contains("expected 3136 data bytes for dimensions 4x28x28, found 3036") == true)

        // The gzip file itself cut short.
        let compressed = Gzip.compress(full)
        try DataFixtures.write(Array(compressed.prefix(compressed.count - 20)), to: images)
        let cut = caughtDatasetError { _ = try MNIST.load(directory: directory, split: .test) }
        #expect(cut?.file == images.path)
        #expect(cut?.message.contains("truncated gzip data") == true)

        // Header cut inside the dimensions.
        try DataFixtures.write(Array(full.prefix(10)), to: images)
        let header = caughtDatasetError { _ = try MNIST.load(directory: directory, split: .test) }
        #expect(header?.location == "byte offset 4 (dimensions)")
    }

    @Test func labelOutOfRange() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var split = DataFixtures.idxSplit(count: 5, seed: 8)
        split.labels[2] = 10
        try DataFixtures.writeIDX(split, prefix: "train", to: directory, gzip: true)
        let error = caughtDatasetError { _ = try MNIST.load(directory: directory, split: .train) }
        #expect(error?.file.hasSuffix("train-labels-idx1-ubyte.gz") == true)
        #expect(error?.location == "label 2 (byte offset 10)")
        #expect(error?.message.contains("out of range 0..<10") == true)
    }
}
