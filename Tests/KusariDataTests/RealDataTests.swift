import Foundation
@testable import KusariData
import Testing

/// Where the real datasets are: `../shared/datasets` beside the repository, and Debian's
/// Fashion-MNIST package. Tests that need them are skipped (with a note) when absent.
enum RealData {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/datasets")
    static let fashionMNIST = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }
    static var hasCIFAR10: Bool { exists(shared.appendingPathComponent("cifar-10-batches-bin/test_batch.bin")) }
    static var hasMNIST: Bool { exists(shared.appendingPathComponent("mnist/t10k-labels-idx1-ubyte.gz")) }
    static var hasFashionMNIST: Bool { exists(fashionMNIST.appendingPathComponent("t10k-labels-idx1-ubyte.gz")) }
}

@Suite(.serialized) struct RealDataTests {
    @Test(.enabled(if: RealData.hasCIFAR10, "real CIFAR-10 not found in ../shared/datasets/cifar-10-batches-bin"))
    func cifar10Counts() throws {
        let train = try CIFAR10.load(directory: RealData.shared, split: .train)
        #expect(train.count == 50_000)
        #expect(train.labels[0] == 6)
        #expect(train.classNames[Int(train.labels[0])] == "frog")
        var counts = [Int](repeating: 0, count: 10)
        for label in train.labels { counts[Int(label)] += 1 }
        #expect(counts == [Int](repeating: 5_000, count: 10))
        let test = try CIFAR10.load(directory: RealData.shared.appendingPathComponent("cifar-10-batches-bin"), split: .test)
        #expect(test.count == 10_000)
        #expect(test.labels[0] == 3)  // cat
    }

    @Test(.enabled(if: RealData.hasMNIST, "real MNIST not found in ../shared/datasets/mnist"))
    func mnistCounts() throws {
        let train = try MNIST.load(directory: RealData.shared, split: .train)
        #expect(train.count == 60_000)
        #expect(train.imageShape == [1, 28, 28])
        #expect(train.labels[0] == 5)
        let test = try MNIST.load(directory: RealData.shared, split: .test)
        #expect(test.count == 10_000)
        #expect(test.labels[0] == 7)
    }

    @Test(.enabled(if: RealData.hasFashionMNIST, "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)"))
    func fashionMNISTCounts() throws {
        let train = try FashionMNIST.load(directory: RealData.fashionMNIST, split: .train)
        #expect(train.count == 60_000)
        #expect(train.labels[0] == 9)  // ankle boot
        #expect(try FashionMNIST.load(directory: RealData.fashionMNIST, split: .test).count == 10_000)
        // Debian re-compressed the files: verified through the decompressed content's MD5.
        let status = try Downloader().verify("fashion-mnist", in: RealData.fashionMNIST.deletingLastPathComponent())
        #expect(status.state == .valid, "\(status)")
    }

    @Test(.enabled(if: RealData.hasCIFAR10 && RealData.hasMNIST, "real datasets not found in ../shared/datasets"))
    func verifyTheSharedDatasets() throws {
        let states = Dictionary(uniqueKeysWithValues: Downloader.verify(directory: RealData.shared).map { ($0.name, $0) })
        #expect(states["cifar10"]?.state == .valid, "\(states["cifar10"]!)")
        #expect(states["mnist"]?.state == .valid, "\(states["mnist"]!)")
        #expect(states["svhn"]?.state == .missing)
    }
}
