import Foundation
@testable import KusariData
import Testing

struct CIFAR10Tests {
    @Test func readsBothSplitsExactlyFromEitherFolder() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let written = try DataFixtures.writeCIFAR10(in: directory, perBatch: 3, testCount: 4)
        for folder in [directory, directory.appendingPathComponent("cifar-10-batches-bin")] {
            let train = try CIFAR10.load(directory: folder, split: .train)
            #expect(train.count == 15)
            #expect(train.imageShape == [3, 32, 32])
            #expect(train.labels == written.train.labels)
            #expect(train.images == written.train.images)
            #expect(train.classNames == CIFAR10.classNames)
            let test = try CIFAR10.load(directory: folder, split: .test)
            #expect(test.labels == written.test.labels)
            #expect(test.images == written.test.images)
        }
    }

    @Test func classNamesComeFromBatchesMeta() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try DataFixtures.writeCIFAR10(in: directory, perBatch: 1, testCount: 1)
        let meta = directory.appendingPathComponent("cifar-10-batches-bin/batches.meta.txt")
        let names = (0..<10).map { "class\($0)" }
        try DataFixtures.write(Array(names.joined(separator: "\n").utf8), to: meta)
        #expect(try CIFAR10.load(directory: directory, split: .test).classNames == names)
        try DataFixtures.write(Array("a\nb\n".utf8), to: meta)
        let error = caughtDatasetError { _ = try CIFAR10.load(directory: directory, split: .test) }
        #expect(error?.file == meta.path)
        #expect(error?.message.contains("expected 10 class names") == true)
    }

    @Test func partialRecordNamesTheByteOffset() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try DataFixtures.writeCIFAR10(in: directory, perBatch: 2, testCount: 2)
        let batch = directory.appendingPathComponent("cifar-10-batches-bin/data_batch_3.bin")
        let bytes = [UInt8](try Data(contentsOf: batch))
        try DataFixtures.write(Array(bytes.dropLast(5)), to: batch)
        let error = caughtDatasetError { _ = try CIFAR10.load(directory: directory, split: .train) }
        #expect(error?.file == batch.path)
        #expect(error?.location == "byte offset 3073")
        #expect(error?.message.contains("not a whole number of 3073-byte records") == true)
    }

    @Test func labelOutOfRangeNamesTheRecord() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try DataFixtures.writeCIFAR10(in: directory, perBatch: 1, testCount: 3)
        let test = directory.appendingPathComponent("cifar-10-batches-bin/test_batch.bin")
        var bytes = [UInt8](try Data(contentsOf: test))
        bytes[2 * 3073] = 10
        try DataFixtures.write(bytes, to: test)
        let error = caughtDatasetError { _ = try CIFAR10.load(directory: directory, split: .test) }
        #expect(error?.file == test.path)
        #expect(error?.location == "record 2 (byte offset 6146)")
        #expect(error?.message == "label 10 is out of range 0..<10")
    }

    @Test func missingDataSaysWhatWasExpected() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = caughtDatasetError { _ = try CIFAR10.load(directory: directory, split: .train) }
        #expect(error?.file == directory.path)
        #expect(error?.message.contains("cifar-10-batches-bin") == true)
        #expect(error?.message.contains("kusari data download cifar10") == true)
    }
}

struct CIFAR100Tests {
    /// Writes `cifar-100-binary/{train,test}.bin` and the label-name files; returns the
    /// (coarse, fine) labels and images of the test split.
    static func write(in directory: URL, trainCount: Int, testCount: Int) throws -> [(coarse: UInt8, fine: UInt8, image: [UInt8])] {
        let folder = directory.appendingPathComponent("cifar-100-binary")
        var testRecords = [(coarse: UInt8, fine: UInt8, image: [UInt8])]()
        for (name, count) in [("train.bin", trainCount), ("test.bin", testCount)] {
            var file = [UInt8]()
            for record in 0..<count {
                let fine = UInt8((record * 37 + count) % 100), coarse = UInt8((record * 3) % 20)
                let image = DataFixtures.bytes(3072, seed: UInt32(record + 10 * count))
                file += [coarse, fine] + image
                if name == "test.bin" { testRecords.append((coarse, fine, image)) }
            }
            try DataFixtures.write(file, to: folder.appendingPathComponent(name))
        }
        try DataFixtures.write(Array(CIFAR100.fineClassNames.joined(separator: "\n").utf8),
                               to: folder.appendingPathComponent("fine_label_names.txt"))
        try DataFixtures.write(Array(CIFAR100.coarseClassNames.joined(separator: "\n").utf8),
                               to: folder.appendingPathComponent("coarse_label_names.txt"))
        return testRecords
    }

    @Test func readsFineAndCoarseLabels() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let records = try Self.write(in: directory, trainCount: 7, testCount: 5)
        #expect(CIFAR100.fineClassNames.count == 100)
        #expect(CIFAR100.coarseClassNames.count == 20)
        let fine = try CIFAR100.load(directory: directory, split: .test, labels: .fine)
        #expect(fine.labels == records.map { Int32($0.fine) })
        #expect(fine.images == records.flatMap(\.image))
        #expect(fine.classNames == CIFAR100.fineClassNames)
        let coarse = try CIFAR100.load(directory: directory.appendingPathComponent("cifar-100-binary"), split: .test, labels: .coarse)
        #expect(coarse.labels == records.map { Int32($0.coarse) })
        #expect(coarse.classNames.count == 20)
        #expect(try CIFAR100.load(directory: directory, split: .train).count == 7)
    }

    @Test func coarseLabelOutOfRangeAndPartialRecord() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try Self.write(in: directory, trainCount: 3, testCount: 3)
        let train = directory.appendingPathComponent("cifar-100-binary/train.bin")
        var bytes = [UInt8](try Data(contentsOf: train))
        bytes[1 * 3074] = 25
        try DataFixtures.write(bytes, to: train)
        // Both labels are checked, whichever one is used.
        let error = caughtDatasetError { _ = try CIFAR100.load(directory: directory, split: .train, labels: .fine) }
        #expect(error?.file == train.path)
        #expect(error?.location == "record 1 (byte offset 3074)")
        #expect(error?.message == "coarse label 25 is out of range 0..<20")

        let test = directory.appendingPathComponent("cifar-100-binary/test.bin")
        try DataFixtures.write(Array([UInt8](try Data(contentsOf: test)).dropLast(3073)), to: test)
        let partial = caughtDatasetError { _ = try CIFAR100.load(directory: directory, split: .test) }
        #expect(partial?.location == "byte offset 6148")
        #expect(partial?.message.contains("3074-byte records") == true)
    }
}
