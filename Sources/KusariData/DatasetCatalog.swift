import Foundation

/// A file published at a dataset's download address.
public struct RemoteFile: Sendable, Equatable {
    /// File name, both at the base URL and on disk.
    public var name: String
    /// The published MD5 of the file as downloaded (lower-case hex).
    public var md5: String
    /// For gzip files: the MD5 of the decompressed content, so that a copy re-compressed
    /// elsewhere (or stored decompressed, without `.gz`) can still be verified.
    public var contentMD5: String?

    /// A published file `name` with its MD5 and, for gzip files, the MD5 of its content.
    public init(name: String, md5: String, contentMD5: String? = nil) {
        self.name = name
        self.md5 = md5
        self.contentMD5 = contentMD5
    }
}

/// A file an archive extracts to, with what is known about it for verification.
public struct ExtractedFile: Sendable, Equatable {
    /// Path relative to the dataset's folder.
    public var name: String
    /// Exact size in bytes, when known.
    public var size: Int?
    /// MD5 of the file, when known.
    public var md5: String?

    /// An extracted file `name`, optionally with its size and MD5.
    public init(name: String, size: Int? = nil, md5: String? = nil) {
        self.name = name
        self.size = size
        self.md5 = md5
    }
}

/// One downloadable dataset: where it comes from, its published checksums, and where it
/// lives in a data directory.
public struct DatasetDescriptor: Sendable, Equatable {
    /// How the published files become the dataset's folder.
    public enum Layout: Sendable, Equatable {
        /// The files are stored as they are in ``DatasetDescriptor/folder``.
        case files
        /// The single file is a (gzipped) tar archive that extracts to
        /// ``DatasetDescriptor/folder``, holding ``DatasetDescriptor/contents``.
        case tarball
    }

    /// Short name used on the command line (`mnist`, `cifar10`, …).
    public var name: String
    /// Human-readable title.
    public var title: String
    /// Official download address of the files (a folder URL).
    public var baseURL: URL
    /// The published files with their checksums.
    public var files: [RemoteFile]
    /// How the files are stored.
    public var layout: Layout
    /// Folder, relative to the data directory, holding the dataset once downloaded.
    public var folder: String
    /// For tarballs: files expected in ``folder`` after extraction.
    public var contents: [ExtractedFile]

    /// A dataset entry; see the properties.
    public init(name: String, title: String, baseURL: URL, files: [RemoteFile], layout: Layout,
                folder: String, contents: [ExtractedFile] = []) {
        self.name = name
        self.title = title
        self.baseURL = baseURL
        self.files = files
        self.layout = layout
        self.folder = folder
        self.contents = contents
    }

    /// The download URL of `file` under `base` (the official address unless overridden).
    public func url(of file: RemoteFile, base: URL? = nil) -> URL {
        (base ?? baseURL).appendingPathComponent(file.name)
    }
}

/// The datasets `kusari data download` knows, with their official addresses and published
/// MD5 checksums (the ones torchvision and the datasets' own pages list).
public struct DatasetCatalog: Sendable {
    /// The datasets, in display order.
    public var datasets: [DatasetDescriptor]

    /// A catalogue of `datasets` (names must differ).
    public init(_ datasets: [DatasetDescriptor]) {
        self.datasets = datasets
    }

    /// The names of the datasets, in display order.
    public var names: [String] { datasets.map(\.name) }

    /// The dataset called `name`, ignoring case, `-` and `_` (`CIFAR-10`, `cifar10` and
    /// `fashion_mnist` all work).
    public func descriptor(named name: String) throws -> DatasetDescriptor {
        func key(_ s: String) -> String { s.lowercased().filter { $0 != "-" && $0 != "_" } }
        guard let found = datasets.first(where: { key($0.name) == key(name) }) else {
            throw DatasetError(file: name, location: "dataset name",
                               message: "unknown dataset; known datasets: \(names.joined(separator: ", "))")
        }
        return found
    }

    /// The official catalogue: MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100 (binary versions) and
    /// SVHN (cropped digits, `.mat`).
    public static let official = DatasetCatalog([
        DatasetDescriptor(
            name: "mnist", title: "MNIST handwritten digits (LeCun et al.), IDX files",
            baseURL: URL(string: "https://ossci-datasets.s3.amazonaws.com/mnist/")!,
            files: [
                RemoteFile(name: "train-images-idx3-ubyte.gz", md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                           contentMD5: "6bbc9ace898e44ae57da46a324031adb"),
                RemoteFile(name: "train-labels-idx1-ubyte.gz", md5: "d53e105ee54ea40749a09fcbcd1e9432",
                           contentMD5: "a25bea736e30d166cdddb491f175f624"),
                RemoteFile(name: "t10k-images-idx3-ubyte.gz", md5: "9fb629c4189551a2d022fa330f9573f3",
                           contentMD5: "2646ac647ad5339dbf082846283269ea"),
                RemoteFile(name: "t10k-labels-idx1-ubyte.gz", md5: "ec29112dd5afa0611ce80d1b7f02629c",
                           contentMD5: "27ae3e4e09519cfbb04c329615203637"),
            ],
            layout: .files, folder: "mnist"),
        DatasetDescriptor(
            name: "fashion-mnist", title: "Fashion-MNIST (Zalando Research), IDX files",
            baseURL: URL(string: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")!,
            files: [
                RemoteFile(name: "train-images-idx3-ubyte.gz", md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                           contentMD5: "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
                RemoteFile(name: "train-labels-idx1-ubyte.gz", md5: "25c81989df183df01b3e8a0aad5dffbe",
                           contentMD5: "9018921c3c673c538a1fc5bad174d6f9"),
                RemoteFile(name: "t10k-images-idx3-ubyte.gz", md5: "bef4ecab320f06d8554ea6380940ec79",
                           contentMD5: "8181f5470baa50b63fa0f6fddb340f0a"),
                RemoteFile(name: "t10k-labels-idx1-ubyte.gz", md5: "bb300cfdad3c16e7a12a480ee83cd310",
                           contentMD5: "15d484375f8d13e6eb1aabb0c3f46965"),
            ],
            layout: .files, folder: "fashion-mnist"),
        DatasetDescriptor(
            name: "cifar10", title: "CIFAR-10 (Krizhevsky, 2009), binary version",
            baseURL: URL(string: "https://www.cs.toronto.edu/~kriz/")!,
            files: [RemoteFile(name: "cifar-10-binary.tar.gz", md5: "c32a1d4ab5d03f1284b67883e8d87530")],
            layout: .tarball, folder: "cifar-10-batches-bin",
            contents: [
                ExtractedFile(name: "data_batch_1.bin", size: 30_730_000, md5: "5dd7e06a14cb22eb9f671a540d1b7c25"),
                ExtractedFile(name: "data_batch_2.bin", size: 30_730_000, md5: "5ea93a67294ea407fff1d09f752e9692"),
                ExtractedFile(name: "data_batch_3.bin", size: 30_730_000, md5: "942cd6a4bcdd0dd3c604fbe906cb4421"),
                ExtractedFile(name: "data_batch_4.bin", size: 30_730_000, md5: "ae636b3ba5c66a11e91e8cb52e771fcb"),
                ExtractedFile(name: "data_batch_5.bin", size: 30_730_000, md5: "53f37980c15c3d472c316c40844f3f0d"),
                ExtractedFile(name: "test_batch.bin", size: 30_730_000, md5: "803d5f7f4d78ea53de84dbe85f74fb6d"),
                ExtractedFile(name: "batches.meta.txt"),
            ]),
        DatasetDescriptor(
            name: "cifar100", title: "CIFAR-100 (Krizhevsky, 2009), binary version",
            baseURL: URL(string: "https://www.cs.toronto.edu/~kriz/")!,
            files: [RemoteFile(name: "cifar-100-binary.tar.gz", md5: "03b5dce01913d631647c71ecec9e9cb8")],
            layout: .tarball, folder: "cifar-100-binary",
            contents: [
                ExtractedFile(name: "train.bin", size: 50_000 * 3074),
                ExtractedFile(name: "test.bin", size: 10_000 * 3074),
                ExtractedFile(name: "fine_label_names.txt"),
                ExtractedFile(name: "coarse_label_names.txt"),
            ]),
        DatasetDescriptor(
            name: "svhn", title: "SVHN cropped digits (Netzer et al., 2011), MATLAB files",
            baseURL: URL(string: "http://ufldl.stanford.edu/housenumbers/")!,
            files: [
                RemoteFile(name: "train_32x32.mat", md5: "e26dedcc434d2e4c54c9b2d4a06d8373"),
                RemoteFile(name: "test_32x32.mat", md5: "eb5a983be6a315427106f1b164d9cef3"),
                RemoteFile(name: "extra_32x32.mat", md5: "a93ce644f1a588dc4d68dda5feec44a7"),
            ],
            layout: .files, folder: "svhn"),
    ])
}
