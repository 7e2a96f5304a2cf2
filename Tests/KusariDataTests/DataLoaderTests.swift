import Foundation
import Kusari
import Testing
@testable import KusariData

/// `count` 1x2x2 images (scale 1): pixels `[i % 256, i / 256, 7, 9]`, label `i % 7`.
private func indexedDataset(_ count: Int) -> ImageDataset {
    var bytes: [UInt8] = []
    for i in 0..<count { bytes += [UInt8(i % 256), UInt8(i / 256), 7, 9] }
    return ImageDataset(images: bytes, labels: (0..<count).map { Int32($0 % 7) }, imageShape: [1, 2, 2],
                        classNames: (0..<7).map { "c\($0)" }, scale: 1)
}

/// The dataset indices of a batch from ``indexedDataset(_:)`` (without value-changing transforms).
private func indices(_ batch: Batch) -> [Int] {
    let values = batch.inputs.toArray(of: Float.self)
    return (0..<batch.count).map { Int(values[4 * $0]) + 256 * Int(values[4 * $0 + 1]) }
}

/// Inputs and labels of the next `count` batches.
private func drain<D>(_ loader: DataLoader<D>, _ count: Int) -> [([Float], [Int32], [Int])] {
    (0..<count).map { _ in
        let batch = loader.next()!
        return (batch.inputs.toArray(of: Float.self), batch.labels.toArray(of: Int32.self), batch.inputs.shape)
    }
}

private func same(_ a: [([Float], [Int32], [Int])], _ b: [([Float], [Int32], [Int])]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 && $0.2 == $1.2 }
}

/// 3x6x6 random-byte images, for augmentation tests.
private func randomImages(_ count: Int, seed: UInt64) -> ImageDataset {
    let bytes = Tensor.randint([count * 108], low: 0, high: 256, generator: Generator(seed: seed)).toArray(of: Int64.self)
    return ImageDataset(images: bytes.map { UInt8($0) }, labels: (0..<count).map { Int32($0 % 10) },
                        imageShape: [3, 6, 6], classNames: (0..<10).map { "\($0)" })
}

private let augmentation = Compose(RandomCrop(size: 5, padding: 2), RandomHorizontalFlip(), RandomBrightness(maxDelta: 0.2),
                                   RandomContrast(lower: 0.5, upper: 1.5), Cutout(size: 2))

@Suite struct DataLoaderTests {
    @Test func shapesAndSequentialOrder() {
        let loader = DataLoader(indexedDataset(10), batchSize: 4, shuffle: false)
        #expect(loader.batchesPerEpoch == 3)
        var flags: [Bool] = [], details: [Double] = []
        for _ in 0..<2 {
            var seen: [Int] = []
            for expected in [4, 4, 2] {
                let batch = loader.next()!
                #expect(batch.inputs.shape == [expected, 1, 2, 2])
                #expect(batch.inputs.dtype == .float32 && batch.labels.dtype == .int32 && batch.labels.shape == [expected])
                #expect(batch.inputs.isContiguous)
                seen += indices(batch)
                #expect(batch.labels.toArray(of: Int32.self) == indices(batch).map { Int32($0 % 7) })
                flags.append(loader.isNewEpoch)
                details.append(loader.epochDetail)
            }
            #expect(seen == Array(0..<10))
        }
        #expect(flags == [false, false, true, false, false, true])
        #expect(details == [0.4, 0.8, 1.0, 1.4, 1.8, 2.0])
        #expect(loader.epoch == 2)
        // Pixels are the bytes times the scale.
        let values = DataLoader(indexedDataset(3), batchSize: 3, shuffle: false, workers: 0).next()!.inputs.toArray(of: Float.self)
        #expect(values == [0, 0, 7, 9, 1, 0, 7, 9, 2, 0, 7, 9])
    }

    @Test func shuffledEpochsUseEveryExampleOnce() {
        let loader = DataLoader(indexedDataset(300), batchSize: 32, seed: 5)
        var orders: [[Int]] = []
        for _ in 0..<3 {
            var order: [Int] = []
            for _ in 0..<loader.batchesPerEpoch { order += indices(loader.next()!) }
            #expect(loader.isNewEpoch)
            #expect(order.sorted() == Array(0..<300))
            orders.append(order)
        }
        #expect(orders[0] != orders[1] && orders[1] != orders[2] && orders[0] != Array(0..<300))
        // The same seed gives the same orders, another seed others.
        let again = DataLoader(indexedDataset(300), batchSize: 32, seed: 5, workers: 0)
        var first: [Int] = []
        for _ in 0..<again.batchesPerEpoch { first += indices(again.next()!) }
        #expect(first == orders[0])
        let other = DataLoader(indexedDataset(300), batchSize: 300, seed: 6)
        #expect(indices(other.next()!) != orders[0])
        // The order of epoch e is a pure function of (seed, e), whatever the batch size.
        let big = DataLoader(indexedDataset(300), batchSize: 300, seed: 5)
        #expect(indices(big.next()!) == orders[0])
        #expect(indices(big.next()!) == orders[1])
    }

    @Test func dropLast() {
        let loader = DataLoader(indexedDataset(10), batchSize: 4, dropLast: true, seed: 1)
        #expect(loader.batchesPerEpoch == 2)
        for epoch in 0..<3 {
            let a = loader.next()!, b = loader.next()!
            #expect(a.count == 4 && b.count == 4)
            #expect(loader.isNewEpoch && loader.epoch == epoch + 1)
            #expect(Set(indices(a) + indices(b)).count == 8)
        }
        let sequential = DataLoader(indexedDataset(10), batchSize: 4, shuffle: false, dropLast: true, workers: 0)
        #expect(indices(sequential.next()!) == [0, 1, 2, 3])
        #expect(indices(sequential.next()!) == [4, 5, 6, 7])
        #expect(indices(sequential.next()!) == [0, 1, 2, 3])
    }

    @Test func identicalForAnyWorkerCount() {
        let data = randomImages(37, seed: 3)
        var results: [[([Float], [Int32], [Int])]] = []
        for (workers, prefetch) in [(0, 0), (1, 1), (3, 2), (2, 6)] {
            let loader = DataLoader(data, batchSize: 8, seed: 42, transform: augmentation, workers: workers, prefetch: prefetch)
            results.append(drain(loader, 13))
        }
        #expect(results[0][0].2 == [8, 3, 5, 5])
        for other in results.dropFirst() { #expect(same(results[0], other)) }
        // Augmentations differ between epochs (same examples, other draws).
        let perEpoch = DataLoader(data, batchSize: 37, shuffle: false, seed: 42, transform: augmentation)
        #expect(perEpoch.next()!.inputs.toArray(of: Float.self) != perEpoch.next()!.inputs.toArray(of: Float.self))
    }

    @Test func resumeMidEpochReproducesTheRest() throws {
        let data = randomImages(45, seed: 4)
        let reference = DataLoader(data, batchSize: 10, seed: 9, transform: augmentation, workers: 2)
        let expected = drain(reference, 14)
        for cut in [1, 3, 5, 7] {
            let original = DataLoader(data, batchSize: 10, seed: 9, transform: augmentation, workers: 2)
            #expect(same(drain(original, cut), Array(expected[0..<cut])))
            let state = original.stateDict()
            // A fresh loader with another seed and worker count picks up exactly where it stopped.
            let resumed = DataLoader(data, batchSize: 10, seed: 1234, transform: augmentation, workers: 3)
            _ = resumed.next()
            try resumed.loadStateDict(state)
            #expect(resumed.epoch == original.epoch && resumed.position == original.position)
            #expect(resumed.isNewEpoch == original.isNewEpoch && resumed.epochDetail == original.epochDetail)
            #expect(same(drain(resumed, 14 - cut), Array(expected[cut...])))
            // The original continues unchanged too (prefetched batches are not lost).
            #expect(same(drain(original, 14 - cut), Array(expected[cut...])))
        }
    }

    @Test func stateSurvivesNPZ() throws {
        let data = randomImages(30, seed: 5)
        let loader = DataLoader(data, batchSize: 7, seed: 77, transform: augmentation)
        _ = drain(loader, 6)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kusari-loader-\(UUID().uuidString).npz")
        defer { try? FileManager.default.removeItem(at: url) }
        try NPZ.write(loader.stateDict().map { (name: "iterator/" + $0.0, array: $0.1.npyArray) }, to: url)
        let expected = drain(loader, 8)
        let state = try NPZ.readOrdered(from: url).map { (String($0.name.dropFirst("iterator/".count)), Tensor(npy: $0.array)) }
        let resumed = DataLoader(data, batchSize: 7, seed: 0, transform: augmentation, workers: 1)
        try resumed.loadStateDict(state)
        #expect(resumed.seed == 77 && resumed.epoch == 1 && resumed.position == 7)
        #expect(same(drain(resumed, 8), expected))
        // A seed with the top bit set survives the int64 bit pattern.
        let highSeed = DataLoader(data, batchSize: 7, seed: UInt64.max - 3, workers: 0)
        let copy = DataLoader(data, batchSize: 7, workers: 0)
        try copy.loadStateDict(highSeed.stateDict())
        #expect(copy.seed == UInt64.max - 3)
    }

    @Test func rejectsForeignState() throws {
        let loader = DataLoader(indexedDataset(10), batchSize: 4)
        let other = DataLoader(indexedDataset(11), batchSize: 4)
        #expect(throws: DatasetError.self) { try loader.loadStateDict(other.stateDict()) }
        #expect(throws: DatasetError.self) { try loader.loadStateDict(Array(loader.stateDict().dropFirst())) }
        var bad = loader.stateDict()
        bad[1] = ("position", Tensor([Int64(10)], shape: []))
        #expect(throws: DatasetError.self) { try loader.loadStateDict(bad) }
        #expect(loader.epoch == 0 && loader.position == 0)
    }

    @Test func nonRepeatingPassAndReset() {
        let loader = DataLoader(indexedDataset(10), batchSize: 4, shuffle: true, repeating: false, seed: 3)
        var pass: [Int] = []
        while let batch = loader.next() { pass += indices(batch) }
        #expect(pass.sorted() == Array(0..<10))
        #expect(loader.epoch == 1 && loader.isNewEpoch && loader.epochDetail == 1)
        #expect(loader.next() == nil)
        loader.reset()
        #expect(loader.epoch == 0 && !loader.isNewEpoch && loader.epochDetail == 0)
        var again: [Int] = []
        while let batch = loader.next() { again += indices(batch) }
        #expect(again == pass)
        // Reset in the middle of a pass starts over.
        loader.reset()
        _ = loader.next()
        loader.reset()
        var third: [Int] = []
        while let batch = loader.next() { third += indices(batch) }
        #expect(third == pass)
    }

    @Test func batchTransformRunsOnWorkers() {
        let data = randomImages(40, seed: 6)
        let zca = ZCAWhitening.fit(data, epsilon: 0.1)
        let plain = DataLoader(data, batchSize: 16, shuffle: false, workers: 0)
        let whitened = DataLoader(data, batchSize: 16, shuffle: false, workers: 2, batchTransform: zca)
        for _ in 0..<4 {
            let expected = zca.apply(batch: plain.next()!.inputs).toArray(of: Float.self)
            #expect(whitened.next()!.inputs.toArray(of: Float.self) == expected)
        }
    }

    @Test func stoppingEarlyShutsDownWorkers() {
        // Loaders dropped with batches still queued or being assembled must not hang or leak.
        let data = randomImages(200, seed: 7)
        for workers in [1, 2, 4] {
            var loader: DataLoader<ImageDataset>? = DataLoader(data, batchSize: 50, transform: augmentation,
                                                                  workers: workers, prefetch: 8)
            _ = loader!.next()
            weak let weakLoader = loader
            loader = nil
            #expect(weakLoader == nil)
        }
        // Never even started.
        _ = DataLoader(data, batchSize: 50, workers: 3)
    }

    @Test func assemblyIsFast() {
        // 10,000 CIFAR-sized images through crop + flip (well under a second in release builds).
        let count = 2_000
        let bytes = [UInt8](repeating: 128, count: count * 3072)
        let data = ImageDataset(images: bytes, labels: [Int32](repeating: 0, count: count), imageShape: [3, 32, 32], classNames: ["x"])
        let loader = DataLoader(data, batchSize: 100, seed: 1,
                                transform: Compose(RandomCrop(size: 32, padding: 4), RandomHorizontalFlip()))
        let start = Date()
        var images = 0
        for _ in 0..<100 { images += loader.next()!.count }
        let seconds = Date().timeIntervalSince(start)
        #expect(images == 10_000)
        print(String(format: "DataLoader: %.0f CIFAR-size images/s with crop + flip on 2 workers", Double(images) / seconds))
        #expect(seconds < 20, "\(seconds) s for 10,000 images")
    }
}
