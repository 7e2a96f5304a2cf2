import Foundation

/// Reads fixed-size records of the CIFAR binary versions: label bytes followed by a 32x32 RGB
/// image stored as 1,024 red, 1,024 green and 1,024 blue bytes (row-major, i.e. CHW).
struct CIFARRecordReader {
    /// Number of label bytes before each image, and the number of classes of each.
    let labelClasses: [Int]
    /// Which of the label bytes becomes the dataset label.
    let labelIndex: Int

    static let imageShape = [3, 32, 32]
    static let imageSize = 3 * 32 * 32

    var recordSize: Int { labelClasses.count + Self.imageSize }

    /// Appends the records of `url` to `images` and `labels`.
    func read(_ url: URL, images: inout [UInt8], labels: inout [Int32]) throws {
        let data = try readDataFile(url)
        let whole = data.count / recordSize * recordSize
        guard data.count == whole, data.count > 0 else {
            throw DatasetError(file: url.path, location: "byte offset \(whole)",
                               message: data.isEmpty
                                   ? "empty file, expected \(recordSize)-byte records"
                                   : "file size \(data.count) is not a whole number of \(recordSize)-byte records "
                                       + "(\(data.count - whole) trailing bytes start at byte offset \(whole); truncated or not a CIFAR batch)")
        }
        let count = data.count / recordSize
        images.reserveCapacity(images.count + count * Self.imageSize)
        labels.reserveCapacity(labels.count + count)
        try data.withUnsafeBufferPointer { bytes in
            for record in 0..<count {
                let start = record * recordSize
                for (field, classes) in labelClasses.enumerated() where Int(bytes[start + field]) >= classes {
                    let name = labelClasses.count == 1 ? "label" : (field == 0 ? "coarse label" : "fine label")
                    throw DatasetError(file: url.path, location: "record \(record) (byte offset \(start + field))",
                                       message: "\(name) \(bytes[start + field]) is out of range 0..<\(classes)")
                }
                labels.append(Int32(bytes[start + labelIndex]))
                images.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[(start + labelClasses.count)..<(start + recordSize)]))
            }
        }
    }

    /// The folder holding the batch files: `directory/folderName` when it exists, else
    /// `directory` itself when it holds `probe`.
    static func folder(_ folderName: String, probe: String, in directory: URL, dataset: String, download: String) throws -> URL {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        let nested = directory.appendingPathComponent(folderName)
        if fileManager.fileExists(atPath: nested.path, isDirectory: &isDirectory), isDirectory.boolValue { return nested }
        if fileManager.fileExists(atPath: directory.appendingPathComponent(probe).path) { return directory }
        throw DatasetError(file: directory.path, location: "directory",
                           message: "no \(dataset) binary data: expected \(folderName)/ (holding \(probe)) or \(probe) itself here; "
                               + "download it with `kusari data download \(download) --to DIR`")
    }

    /// Class names from a text file with one name per line (blank lines ignored), or
    /// `fallback` when the file does not exist.
    static func classNames(_ url: URL, count: Int, fallback: [String]) throws -> [String] {
        guard FileManager.default.fileExists(atPath: url.path) else { return fallback }
        let text = String(decoding: try readDataFile(url), as: UTF8.self)
        let names = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard names.count == count else {
            throw DatasetError(file: url.path, location: "line count",
                               message: "expected \(count) class names (one per line), found \(names.count)")
        }
        return names
    }
}

/// CIFAR-10 (Krizhevsky, 2009), binary version: 50,000 training and 10,000 test colour images
/// of 32x32 pixels in ten classes, from `cifar-10-batches-bin/data_batch_{1…5}.bin` and
/// `test_batch.bin` (records of one label byte and 3,072 image bytes).
public enum CIFAR10 {
    /// The split to read.
    public typealias Split = TrainTestSplit

    /// The folder the official archive extracts to.
    public static let folderName = "cifar-10-batches-bin"
    /// Bytes per record: one label byte and a 3x32x32 image.
    public static let recordSize = 1 + 3072
    /// The official class names (also in `batches.meta.txt`), in label order.
    public static let classNames = ["airplane", "automobile", "bird", "cat", "deer",
                                    "dog", "frog", "horse", "ship", "truck"]

    /// The batch files of `split`.
    public static func fileNames(_ split: Split) -> [String] {
        split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
    }

    /// Reads `split` from `directory`, which is either the folder that contains
    /// `cifar-10-batches-bin` or that folder itself. Images have shape `[3, 32, 32]`; class
    /// names come from `batches.meta.txt` when present.
    public static func load(directory: URL, split: Split) throws -> ImageDataset {
        let folder = try CIFARRecordReader.folder(folderName, probe: fileNames(split)[0], in: directory,
                                                  dataset: "CIFAR-10", download: "cifar10")
        let names = try CIFARRecordReader.classNames(folder.appendingPathComponent("batches.meta.txt"), count: 10, fallback: classNames)
        let reader = CIFARRecordReader(labelClasses: [10], labelIndex: 0)
        var images = [UInt8](), labels = [Int32]()
        for name in fileNames(split) {
            try reader.read(folder.appendingPathComponent(name), images: &images, labels: &labels)
        }
        return ImageDataset(images: images, labels: labels, imageShape: CIFARRecordReader.imageShape, classNames: names)
    }
}

/// CIFAR-100 (Krizhevsky, 2009), binary version: 50,000 training and 10,000 test colour images
/// of 32x32 pixels with a fine label (100 classes) and a coarse label (20 superclasses), from
/// `cifar-100-binary/train.bin` and `test.bin` (records of coarse label byte, fine label byte
/// and 3,072 image bytes).
public enum CIFAR100 {
    /// The split to read.
    public typealias Split = TrainTestSplit

    /// Which label becomes the dataset's label.
    public enum LabelKind: String, Sendable, CaseIterable {
        /// The 100 classes.
        case fine
        /// The 20 superclasses.
        case coarse
    }

    /// The folder the official archive extracts to.
    public static let folderName = "cifar-100-binary"
    /// Bytes per record: coarse and fine label bytes and a 3x32x32 image.
    public static let recordSize = 2 + 3072

    /// The official fine class names (`fine_label_names.txt`), in label order.
    public static let fineClassNames = [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
        "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
        "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
        "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
        "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
        "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
    ]

    /// The official coarse class names (`coarse_label_names.txt`), in label order.
    public static let coarseClassNames = [
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
        "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
        "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
        "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
        "vehicles_1", "vehicles_2",
    ]

    /// The data file of `split`.
    public static func fileName(_ split: Split) -> String {
        split == .train ? "train.bin" : "test.bin"
    }

    /// Reads `split` from `directory`, which is either the folder that contains
    /// `cifar-100-binary` or that folder itself, labelled by `labels`. Both label bytes are
    /// range-checked. Images have shape `[3, 32, 32]`; class names come from
    /// `fine_label_names.txt` / `coarse_label_names.txt` when present.
    public static func load(directory: URL, split: Split, labels kind: LabelKind = .fine) throws -> ImageDataset {
        let folder = try CIFARRecordReader.folder(folderName, probe: fileName(split), in: directory,
                                                  dataset: "CIFAR-100", download: "cifar100")
        let names = kind == .fine
            ? try CIFARRecordReader.classNames(folder.appendingPathComponent("fine_label_names.txt"), count: 100, fallback: fineClassNames)
            : try CIFARRecordReader.classNames(folder.appendingPathComponent("coarse_label_names.txt"), count: 20, fallback: coarseClassNames)
        let reader = CIFARRecordReader(labelClasses: [20, 100], labelIndex: kind == .coarse ? 0 : 1)
        var images = [UInt8](), labels = [Int32]()
        try reader.read(folder.appendingPathComponent(fileName(split)), images: &images, labels: &labels)
        return ImageDataset(images: images, labels: labels, imageShape: CIFARRecordReader.imageShape, classNames: names)
    }
}
