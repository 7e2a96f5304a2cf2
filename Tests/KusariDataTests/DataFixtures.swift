import Foundation
import Testing
@testable import KusariData

/// Helpers shared by the dataset-reader tests: temporary folders, fixture writers in the
/// official formats, and error capture.
enum DataFixtures {
    /// A fresh empty temporary directory.
    static func temporaryDirectory(_ label: String = "kusari-data") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes `bytes` to `url`, creating parent folders.
    static func write(_ bytes: [UInt8], to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }


    /// Deterministic pseudo-random bytes (a simple LCG; fixtures only).
    static func bytes(_ count: Int, seed: UInt32) -> [UInt8] {
        var state = seed &* 2_654_435_761 &+ 1
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    /// Names of everything in `directory`, hidden items included, sorted.
    static func listing(_ directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    // MARK: MNIST

    /// A small MNIST-like split: `count` images of `rows`x`cols` and their labels.
    struct IDXSplit {
        var images: [UInt8]
        var labels: [UInt8]
        var rows = 28, cols = 28
        var count: Int { labels.count }
    }

    static func idxSplit(count: Int, seed: UInt32, rows: Int = 28, cols: Int = 28) -> IDXSplit {
        IDXSplit(images: bytes(count * rows * cols, seed: seed),
                 labels: (0..<count).map { UInt8(($0 * 7 + Int(seed)) % 10) }, rows: rows, cols: cols)
    }

    /// Writes the two IDX files of `split` (prefix `train` or `t10k`) into `directory`.
    static func writeIDX(_ split: IDXSplit, prefix: String, to directory: URL, gzip: Bool) throws {
        let images = IDX.encode(dimensions: [split.count, split.rows, split.cols], bytes: split.images)
        let labels = IDX.encode(dimensions: [split.count], bytes: split.labels)
        let suffix = gzip ? ".gz" : ""
        try write(gzip ? Gzip.compress(images) : images, to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte\(suffix)"))
        try write(gzip ? Gzip.compress(labels) : labels, to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte\(suffix)"))
    }

    // MARK: CIFAR

    /// One CIFAR record: label bytes then 3,072 image bytes.
    static func cifarRecord(labels: [UInt8], seed: UInt32) -> [UInt8] {
        labels + bytes(3072, seed: seed)
    }

    /// Writes a CIFAR-10 binary folder (`cifar-10-batches-bin`) with `perBatch` records in
    /// each of the five training batches and `testCount` test records; returns the labels
    /// and images written, train then test.
    @discardableResult
    static func writeCIFAR10(in directory: URL, perBatch: Int, testCount: Int, meta: Bool = true)
        throws -> (train: (labels: [Int32], images: [UInt8]), test: (labels: [Int32], images: [UInt8])) {
        let folder = directory.appendingPathComponent("cifar-10-batches-bin")
        var train = (labels: [Int32](), images: [UInt8]())
        var seed: UInt32 = 1
        for batch in 1...5 {
            var file = [UInt8]()
            for record in 0..<perBatch {
                let label = UInt8((batch * 3 + record) % 10)
                let bytes = cifarRecord(labels: [label], seed: seed)
                seed += 1
                file += bytes
                train.labels.append(Int32(label))
                train.images += bytes.dropFirst()
            }
            try write(file, to: folder.appendingPathComponent("data_batch_\(batch).bin"))
        }
        var test = (labels: [Int32](), images: [UInt8]())
        var file = [UInt8]()
        for record in 0..<testCount {
            let label = UInt8((record * 7) % 10)
            let bytes = cifarRecord(labels: [label], seed: 1000 + UInt32(record))
            file += bytes
            test.labels.append(Int32(label))
            test.images += bytes.dropFirst()
        }
        try write(file, to: folder.appendingPathComponent("test_batch.bin"))
        if meta {
            try write(Array((CIFAR10.classNames.joined(separator: "\n") + "\n\n").utf8),
                      to: folder.appendingPathComponent("batches.meta.txt"))
        }
        return (train, test)
    }
}

/// Runs `body`, which must throw a `DatasetError`, and returns it (recording an issue for any
/// other error).
func caughtDatasetError(_ body: () throws -> Void) -> DatasetError? {
    do {
        try body()
        return nil
    } catch let error as DatasetError {
        return error
    } catch {
        Issue.record("expected a DatasetError, got \(error)")
        return nil
    }
}
