import Foundation
import KusariData
import Testing

/// A fresh temporary directory, removed by the caller.
private func svhnTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kusari-svhn-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The fixture's pixel at MATLAB subscript (row h, column w, channel c, image n): the value
/// encodes its coordinates, so a wrong transposition cannot go unnoticed.
private func svhnPixel(h: Int, w: Int, c: Int, n: Int) -> UInt8 {
    UInt8((h + 37 * w + 101 * c + 13 * n) & 255)
}

/// `X` as MATLAB stores it: uint8 [32, 32, 3, N], column-major.
private func svhnMatlabX(count: Int) -> [UInt8] {
    var x = [UInt8](repeating: 0, count: 32 * 32 * 3 * count)
    for n in 0..<count {
        for c in 0..<3 {
            for w in 0..<32 {
                for h in 0..<32 { x[h + 32 * w + 1024 * c + 3072 * n] = svhnPixel(h: h, w: w, c: c, n: n) }
            }
        }
    }
    return x
}

/// The digits of fixture labels 1, 2, ..., 10, 1, ... (label 10 is the digit 0).
private func svhnExpectedDigits(_ count: Int) -> [Int32] {
    (0..<count).map { (i: Int) -> Int32 in Int32((i % 10 + 1) % 10) }
}

/// Writes an SVHN-format file with libmatio (MAT5, as the official files).
private func writeSVHNFixture(_ url: URL, count: Int, labels: MatArrayData? = nil, compressed: Bool = true) throws {
    let y = labels ?? .double((0..<count).map { Double($0 % 10 + 1) })
    try MatFile.write([
        MatArray(name: "X", dims: [32, 32, 3, count], data: .uint8(svhnMatlabX(count: count))),
        MatArray(name: "y", dims: [count, 1], data: y),
    ], to: url, compressed: compressed)
}


struct SVHNTests {
    @Test(arguments: [true, false])
    func readsImagesInCHWOrderAndMapsLabelTenToZero(compressed: Bool) throws {
        let directory = try svhnTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let count = 23
        try writeSVHNFixture(directory.appendingPathComponent("train_32x32.mat"), count: count, compressed: compressed)

        let data = try SVHN.load(directory: directory, split: .train)
        #expect(data.count == count)
        #expect(data.imageShape == [3, 32, 32])
        #expect(data.classNames == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"])
        var mismatches = 0
        for n in 0..<count {
            for c in 0..<3 {
                for h in 0..<32 {
                    for w in 0..<32 where data.images[n * 3072 + c * 1024 + h * 32 + w] != svhnPixel(h: h, w: w, c: c, n: n) {
                        mismatches += 1
                    }
                }
            }
        }
        #expect(mismatches == 0)
        // y = 1, 2, ..., 10, 1, ...: label 10 is the digit 0.
        #expect(data.labels == svhnExpectedDigits(count))
        let example = data.example(at: 4)
        #expect(example.label == 5)
        #expect(example.pixels[1024 + 2 * 32 + 7] == Float(svhnPixel(h: 2, w: 7, c: 1, n: 4)) / 255)
    }

    @Test func readsEachSplitFromItsOfficialFileName() throws {
        let directory = try svhnTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (split, count) in [(SVHN.Split.train, 3), (.test, 4), (.extra, 5)] {
            #expect(split.fileName == "\(split.rawValue)_32x32.mat")
            try writeSVHNFixture(directory.appendingPathComponent(split.fileName), count: count)
        }
        #expect(try SVHN.load(directory: directory, split: .train).count == 3)
        #expect(try SVHN.load(directory: directory, split: .test).count == 4)
        #expect(try SVHN.load(directory: directory, split: .extra).count == 5)
    }

    @Test func acceptsUInt8LabelsAndASingleImageWithoutTrailingDimension() throws {
        let directory = try svhnTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("test_32x32.mat")
        let uint8Labels = (0..<12).map { (i: Int) -> UInt8 in UInt8(i % 10 + 1) }
        try writeSVHNFixture(url, count: 12, labels: .uint8(uint8Labels))
        #expect(try SVHN.load(file: url).labels == svhnExpectedDigits(12))

        // MATLAB drops the trailing singleton: one image is X [32, 32, 3].
        try MatFile.write([
            MatArray(name: "X", dims: [32, 32, 3], data: .uint8(svhnMatlabX(count: 1))),
            MatArray(name: "y", dims: [1, 1], data: .double([10])),
        ], to: url)
        let one = try SVHN.load(file: url)
        #expect(one.count == 1 && one.labels == [0])
        #expect(one.images[2 * 1024 + 5 * 32 + 9] == svhnPixel(h: 5, w: 9, c: 2, n: 0))
    }

    @Test func matFileRoundTripsNumericArrays() throws {
        let directory = try svhnTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("arrays.mat")
        let arrays = [
            MatArray(name: "a", dims: [2, 3], data: .double([1, 2, 3, 4, 5, 6.5])),
            MatArray(name: "b", dims: [1, 4], data: .int32([-1, 0, 7, Int32.max])),
            MatArray(name: "c", dims: [2, 1, 2], data: .single([0.5, -2, 3, 1e-3])),
            MatArray(name: "d", dims: [3, 1], data: .uint16([0, 1, 65535])),
        ]
        for compressed in [true, false] {
            try MatFile.write(arrays, to: url, compressed: compressed)
            #expect(try MatFile.variableNames(in: url) == ["a", "b", "c", "d"])
            #expect(try MatFile.read(["a", "b", "c", "d"], from: url) == arrays)
            #expect(try MatFile.read("c", from: url) == arrays[2])
        }
    }

    @Test func missingFileAndMissingVariableNameFileAndVariable() throws {
        let directory = try svhnTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = caughtDatasetError { _ = try SVHN.load(directory: directory, split: .extra) }
        #expect(missing?.file.hasSuffix("extra_32x32.mat") == true)

        let url = directory.appendingPathComponent("train_32x32.mat")
        try MatFile.write([MatArray(name: "X", dims: [32, 32, 3, 2], data: .uint8(svhnMatlabX(count: 2)))], to: url)
        let error = caughtDatasetError { _ = try SVHN.load(file: url) }
        #expect(error?.file == url.path)
        #expect(error?.location == "variable y")
        #expect(error?.message.contains("missing") == true)
        #expect(error?.message.contains("X") == true)  // lists what the file has
    }

    @Test func wrongClassOrDimensionsAreRejected() throws {
        let directory = try svhnTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("train_32x32.mat")
        let y = MatArray(name: "y", dims: [2, 1], data: .double([1, 2]))

        try MatFile.write([MatArray(name: "X", dims: [32, 32, 3, 2], data: .double(svhnMatlabX(count: 2).map(Double.init))), y], to: url)
        let wrongClass = caughtDatasetError { _ = try SVHN.load(file: url) }
        #expect(wrongClass?.file == url.path)
        #expect(wrongClass?.location == "variable X")
        #expect(wrongClass?.message.contains("double") == true && wrongClass?.message.contains("uint8") == true)

        try MatFile.write([MatArray(name: "X", dims: [32, 32, 6], data: .uint8(svhnMatlabX(count: 2))), y], to: url)
        let wrongDims = caughtDatasetError { _ = try SVHN.load(file: url) }
        #expect(wrongDims?.location == "variable X")
        #expect(wrongDims?.message.contains("[32, 32, 3, N]") == true)

        try MatFile.write([MatArray(name: "X", dims: [32, 32, 3, 2], data: .uint8(svhnMatlabX(count: 2))),
                           MatArray(name: "y", dims: [3, 1], data: .double([1, 2, 3]))], to: url)
        let wrongCount = caughtDatasetError { _ = try SVHN.load(file: url) }
        #expect(wrongCount?.location == "variable y")
    }

    @Test(arguments: [0.0, 11.0, 2.5, -1.0])
    func labelsOutsideOneToTenAreRejected(bad: Double) throws {
        let directory = try svhnTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("test_32x32.mat")
        try writeSVHNFixture(url, count: 4, labels: .double([3, 10, bad, 1]))
        let error = caughtDatasetError { _ = try SVHN.load(file: url) }
        #expect(error?.file == url.path)
        #expect(error?.location == "variable y, element 3")
        #expect(error?.message.contains("1...10") == true)
    }

    @Test func truncatedOrForeignFilesGiveErrorsNamingTheFile() throws {
        let directory = try svhnTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("train_32x32.mat")
        for compressed in [true, false] {
            try writeSVHNFixture(url, count: 8, compressed: compressed)
            let full = try Data(contentsOf: url)
            for keep in [full.count - 10, full.count / 2, 300, 130, 60] {
                try full.prefix(keep).write(to: url)
                let error = caughtDatasetError { _ = try SVHN.load(file: url) }
                #expect(error?.file == url.path, "kept \(keep) of \(full.count) bytes (compressed: \(compressed))")
                if keep == full.count - 10 {
                    // libmatio alone would read the cut-off labels as zeros; the element walk names y.
                    #expect(error?.location == "variable y")
                    #expect(error?.message.contains("truncated") == true)
                }
            }
            // A damaged compressed stream.
            if compressed {
                var damaged = full
                damaged[full.count - 12] ^= 0x5A
                try damaged.write(to: url)
                #expect(caughtDatasetError { _ = try SVHN.load(file: url) }?.file == url.path)
            }
        }
        try Data("not a MATLAB file at all".utf8).write(to: url)
        #expect(caughtDatasetError { _ = try SVHN.load(file: url) }?.file == url.path)
        try Data().write(to: url)
        #expect(caughtDatasetError { _ = try SVHN.load(file: url) }?.file == url.path)
    }
}

struct SVHNSplitTests {
    /// `perClass` examples of each of 10 classes, in an interleaved order; each image's bytes
    /// identify it: [source, index low, index high, label, ...].
    private func fixture(source: UInt8, perClass: Int) -> ImageDataset {
        let count = perClass * 10
        var images = [UInt8](repeating: 0, count: count * 12)
        var labels = [Int32]()
        for i in 0..<count {
            let label = (i * 7) % 10
            images[i * 12] = source
            images[i * 12 + 1] = UInt8(i & 255)
            images[i * 12 + 2] = UInt8(i >> 8)
            images[i * 12 + 3] = UInt8(label)
            labels.append(Int32(label))
        }
        return ImageDataset(images: images, labels: labels, imageShape: [3, 2, 2], classNames: SVHN.classNames)
    }

    private func identities(_ data: ImageDataset) -> [Int] {
        (0..<data.count).map { i in
            Int(data.images[i * 12]) << 16 | Int(data.images[i * 12 + 2]) << 8 | Int(data.images[i * 12 + 1])
        }
    }

    @Test func validationTakes400PerClassFromTrainAnd200FromExtra() {
        let train = fixture(source: 0, perClass: 500)
        let extra = fixture(source: 1, perClass: 250)
        let (training, validation, _) = svhnSplit(train: train, extra: extra, seed: 7)

        #expect(validation.count == 6000)
        #expect(training.count == 7500 - 6000)
        for label in 0..<10 {
            let fromTrain = (0..<validation.count).filter { validation.labels[$0] == label && validation.images[$0 * 12] == 0 }
            let fromExtra = (0..<validation.count).filter { validation.labels[$0] == label && validation.images[$0 * 12] == 1 }
            #expect(fromTrain.count == 400 && fromExtra.count == 200, "class \(label)")
            #expect(training.labels.filter { $0 == label }.count == 150, "class \(label)")
        }
        // Labels travel with their images, and together the two parts are train + extra exactly once.
        for part in [training, validation] {
            #expect((0..<part.count).allSatisfy { Int32(part.images[$0 * 12 + 3]) == part.labels[$0] })
        }
        let all = identities(training) + identities(validation)
        #expect(Set(all).count == 7500)
        #expect(Set(all) == Set(identities(train) + identities(extra)))
        #expect(validation.imageShape == [3, 2, 2] && validation.classNames == SVHN.classNames)
    }

    @Test func splitIsDeterministicGivenTheSeed() {
        let train = fixture(source: 0, perClass: 500)
        let extra = fixture(source: 1, perClass: 250)
        let a = svhnSplit(train: train, extra: extra, seed: 42)
        let b = svhnSplit(train: train, extra: extra, seed: 42)
        let c = svhnSplit(train: train, extra: extra, seed: 43)
        #expect(a.validation.images == b.validation.images && a.training.images == b.training.images)
        #expect(a.validation.labels == b.validation.labels && a.mean == b.mean)
        #expect(Set(identities(a.validation)) != Set(identities(c.validation)))
        // The draw is random: it is not simply the first examples of each class.
        let firstTrainIndices = Set(identities(a.validation).filter { $0 >> 16 == 0 }.map { $0 & 0xFFFF })
        #expect(firstTrainIndices != Set(0..<4000))
    }

    @Test func meanImageIsWeightedOverTrainAndExtra() {
        // Train images (5,000) have pixel i = 10 + i, extra images (2,500) 40 + i: the weighted
        // mean is 20 + i (the unweighted mean of the two means would be 25 + i).
        let shape = [3, 2, 2]
        func constant(_ base: Int, perClass: Int) -> ImageDataset {
            let count = perClass * 10
            let image = (0..<12).map { UInt8(base + $0) }
            return ImageDataset(images: Array((0..<count).map { _ in image }.joined()),
                                labels: (0..<count).map { Int32($0 % 10) }, imageShape: shape, classNames: SVHN.classNames)
        }
        let (_, _, mean) = svhnSplit(train: constant(10, perClass: 500), extra: constant(40, perClass: 250), seed: 1)
        #expect(mean.count == 12)
        for i in 0..<12 { #expect(abs(mean[i] - Float(20 + i)) < 1e-4) }

        // Non-constant images: compare with a direct sum.
        let train = fixture(source: 3, perClass: 450)
        let extra = fixture(source: 9, perClass: 220)
        let result = svhnSplit(train: train, extra: extra, seed: 5)
        for p in 0..<12 {
            var sum = 0.0
            for i in 0..<train.count { sum += Double(train.images[i * 12 + p]) }
            for i in 0..<extra.count { sum += Double(extra.images[i * 12 + p]) }
            #expect(abs(Double(result.mean[p]) - sum / Double(train.count + extra.count)) < 1e-3)
        }
    }
}
