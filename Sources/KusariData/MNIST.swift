import Foundation

/// Which half of a dataset with an official train/test split to read.
public enum TrainTestSplit: String, Sendable, CaseIterable {
    /// The training set.
    case train
    /// The test set.
    case test
}

/// The IDX format of MNIST and Fashion-MNIST: a big-endian magic number `00 00 TYPE NDIM`,
/// `NDIM` big-endian 32-bit dimensions, then the elements row-major. Only unsigned bytes
/// (`TYPE` 0x08) are read, which is what both datasets use.
public enum IDX {
    /// Magic number of a label file (unsigned bytes, one dimension).
    public static let labelsMagic: UInt32 = 2049
    /// Magic number of an image file (unsigned bytes, three dimensions).
    public static let imagesMagic: UInt32 = 2051

    /// A decoded IDX file of unsigned bytes.
    public struct Contents: Sendable, Equatable {
        /// The dimensions from the header (first is the item count).
        public var dimensions: [Int]
        /// The elements, row-major.
        public var bytes: [UInt8]
    }

    /// Reads the IDX file at `url`, decompressing it first when it starts with the gzip magic
    /// number, and checks that its magic number is `expectedMagic`.
    public static func read(_ url: URL, expectedMagic: UInt32) throws -> IDX.Contents {
        let raw = try readDataFile(url)
        let bytes = Gzip.isGzip(raw) ? try Gzip.decompress(raw, file: url.path) : raw
        return try parse(bytes, file: url.path, expectedMagic: expectedMagic)
    }

    /// Decodes IDX `bytes` (already decompressed); `file` names them in errors.
    public static func parse(_ bytes: [UInt8], file: String, expectedMagic: UInt32) throws -> IDX.Contents {
        let what = gzipNote(file)
        guard bytes.count >= 4 else {
            throw DatasetError(file: file, location: "byte offset 0 (magic number)",
                               message: "truncated\(what): expected a 4-byte IDX magic number, found \(bytes.count) bytes")
        }
        let magic = bigEndian(bytes, 0)
        guard magic == expectedMagic else {
            throw DatasetError(file: file, location: "byte offset 0 (magic number)",
                               message: "expected \(expectedMagic) (\(describe(expectedMagic))), found \(magic) (\(describe(magic)))")
        }
        let rank = Int(bytes[3])
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DatasetError(file: file, location: "byte offset 4 (dimensions)",
                               message: "truncated\(what): expected \(rank) 4-byte dimensions, found \(bytes.count - 4) bytes")
        }
        let dimensions = (0..<rank).map { Int(bigEndian(bytes, 4 + 4 * $0)) }
        let expected = dimensions.reduce(1, *)
        let found = bytes.count - headerSize
        guard found == expected else {
            let shape = dimensions.map(String.init).joined(separator: "x")
            throw DatasetError(file: file, location: "byte offset \(headerSize) (data)",
                               message: found < expected
                                   ? "truncated\(what): expected \(expected) data bytes for dimensions \(shape), found \(found)"
                                   : "expected \(expected) data bytes for dimensions \(shape), found \(found) (\(found - expected) extra)")
        }
        return IDX.Contents(dimensions: dimensions, bytes: Array(bytes[headerSize...]))
    }

    /// An uncompressed IDX file of unsigned bytes with the given dimensions.
    public static func encode(dimensions: [Int], bytes: [UInt8]) -> [UInt8] {
        precondition(dimensions.reduce(1, *) == bytes.count, "IDX.encode: \(bytes.count) bytes for dimensions \(dimensions)")
        var out: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
        for dimension in dimensions { out += bigEndianBytes(UInt32(dimension)) }
        return out + bytes
    }

    static func describe(_ magic: UInt32) -> String {
        switch magic {
        case labelsMagic: return "unsigned-byte labels, 1 dimension"
        case imagesMagic: return "unsigned-byte images, 3 dimensions"
        default:
            if magic >> 16 == 0 {
                return "IDX type 0x\(String(magic >> 8 & 0xFF, radix: 16)), \(magic & 0xFF) dimensions"
            }
            return "not an IDX file"
        }
    }

    private static func gzipNote(_ file: String) -> String {
        file.hasSuffix(".gz") ? " (after decompression)" : ""
    }

    static func bigEndian(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func bigEndianBytes(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}

/// Reads a whole file, with a ``DatasetError`` when it cannot be read.
func readDataFile(_ url: URL) throws -> [UInt8] {
    do {
        return [UInt8](try Data(contentsOf: url, options: .mappedIfSafe))
    } catch {
        throw DatasetError(file: url.path, location: "open", message: "cannot read file: \(error.localizedDescription)")
    }
}

/// Loads a dataset in the MNIST layout: `{train,t10k}-{images-idx3,labels-idx1}-ubyte`, each
/// gzipped (`.gz`) or not.
struct IDXImageLoader {
    let datasetName: String
    let subfolder: String
    let classNames: [String]
    let downloadName: String

    static func fileNames(_ split: TrainTestSplit) -> (images: String, labels: String) {
        let prefix = split == .train ? "train" : "t10k"
        return ("\(prefix)-images-idx3-ubyte", "\(prefix)-labels-idx1-ubyte")
    }

    /// The file named `base` (trying `base.gz`, then `base`, and the `base.idx…` variants of
    /// the unpacked originals) in `directory` or its `subfolder`.
    func locate(_ base: String, in directory: URL) -> URL? {
        let dotted = base.replacingOccurrences(of: "-idx", with: ".idx")
        let fileManager = FileManager.default
        for folder in [directory, directory.appendingPathComponent(subfolder)] {
            for name in [base + ".gz", base, dotted, dotted + ".gz"] {
                let url = folder.appendingPathComponent(name)
                if fileManager.fileExists(atPath: url.path) { return url }
            }
        }
        return nil
    }

    func load(directory: URL, split: TrainTestSplit) throws -> ImageDataset {
        let names = Self.fileNames(split)
        guard let imagesURL = locate(names.images, in: directory) else {
            throw missing(names.images, directory)
        }
        guard let labelsURL = locate(names.labels, in: directory) else {
            throw missing(names.labels, directory)
        }
        let images = try IDX.read(imagesURL, expectedMagic: IDX.imagesMagic)
        let labels = try IDX.read(labelsURL, expectedMagic: IDX.labelsMagic)
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DatasetError(file: labelsURL.path, location: "byte offset 4 (item count)",
                               message: "\(labels.dimensions[0]) labels, but \(imagesURL.lastPathComponent) has \(images.dimensions[0]) images; the counts must match")
        }
        for (index, label) in labels.bytes.enumerated() where Int(label) >= classNames.count {
            throw DatasetError(file: labelsURL.path, location: "label \(index) (byte offset \(8 + index))",
                               message: "label \(label) is out of range 0..<\(classNames.count)")
        }
        return ImageDataset(images: images.bytes, labels: labels.bytes.map { Int32($0) },
                            imageShape: [1, images.dimensions[1], images.dimensions[2]], classNames: classNames)
    }

    private func missing(_ name: String, _ directory: URL) -> DatasetError {
        DatasetError(file: directory.appendingPathComponent(name + ".gz").path, location: "directory",
                     message: "no \(datasetName) file \(name)[.gz] in \(directory.path) or its \(subfolder)/ folder; "
                         + "download it with `kusari data download \(downloadName) --to DIR`")
    }
}

/// MNIST handwritten digits (LeCun et al.): 60,000 training and 10,000 test images of 28x28
/// grey pixels, read from the four official IDX files (gzipped or not).
public enum MNIST {
    /// The split to read.
    public typealias Split = TrainTestSplit

    /// `"0"` … `"9"`.
    public static let classNames = (0..<10).map(String.init)

    /// Reads `split` from `directory`, which holds the IDX files
    /// (`train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`, `t10k-…`) or a `mnist/`
    /// folder with them. Images have shape `[1, 28, 28]`.
    public static func load(directory: URL, split: Split) throws -> ImageDataset {
        try IDXImageLoader(datasetName: "MNIST", subfolder: "mnist", classNames: classNames, downloadName: "mnist")
            .load(directory: directory, split: split)
    }
}

/// Fashion-MNIST (Zalando): a drop-in replacement of MNIST with 28x28 grey images of ten kinds
/// of clothing, in the same IDX files.
public enum FashionMNIST {
    /// The split to read.
    public typealias Split = TrainTestSplit

    /// The ten official class names, in label order.
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Reads `split` from `directory`, which holds the IDX files or a `fashion-mnist/` folder
    /// with them. Images have shape `[1, 28, 28]`.
    public static func load(directory: URL, split: Split) throws -> ImageDataset {
        try IDXImageLoader(datasetName: "Fashion-MNIST", subfolder: "fashion-mnist", classNames: classNames,
                           downloadName: "fashion-mnist")
            .load(directory: directory, split: split)
    }
}
