import Foundation
@testable import KusariData
import Testing

/// A local "official" mirror: small MNIST and CIFAR-10 files in the real formats, served
/// through `file://` URLs, with a catalogue of their checksums.
private struct FakeMirror {
    let root: URL
    let mirror: URL
    let data: URL
    let mnistTrain: DataFixtures.IDXSplit
    let mnistTest: DataFixtures.IDXSplit
    let cifarTest: [Int32]
    let catalog: DatasetCatalog

    init() throws {
        root = try DataFixtures.temporaryDirectory("kusari-download")
        mirror = root.appendingPathComponent("mirror")
        data = root.appendingPathComponent("data")

        // MNIST: the four gzipped IDX files.
        mnistTrain = DataFixtures.idxSplit(count: 9, seed: 11)
        mnistTest = DataFixtures.idxSplit(count: 4, seed: 12)
        let mnistFolder = mirror.appendingPathComponent("mnist")
        try DataFixtures.writeIDX(mnistTrain, prefix: "train", to: mnistFolder, gzip: true)
        try DataFixtures.writeIDX(mnistTest, prefix: "t10k", to: mnistFolder, gzip: true)
        var mnistFiles = [RemoteFile]()
        for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            let url = mnistFolder.appendingPathComponent(name)
            mnistFiles.append(RemoteFile(name: name, md5: try Downloader.md5(of: url),
                                         contentMD5: Downloader.md5(of: try Gzip.decompress(contentsOf: url))))
        }

        // CIFAR-10: a tarball holding cifar-10-batches-bin/, like the official one.
        let staging = root.appendingPathComponent("cifar-source")
        let written = try DataFixtures.writeCIFAR10(in: staging, perBatch: 2, testCount: 3)
        cifarTest = written.test.labels
        var members = [Tar.Member(directory: "cifar-10-batches-bin")]
        var contents = [ExtractedFile]()
        for name in ["batches.meta.txt", "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                     "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"] {
            let url = staging.appendingPathComponent("cifar-10-batches-bin/\(name)")
            let bytes = [UInt8](try Data(contentsOf: url))
            members.append(Tar.Member(path: "cifar-10-batches-bin/\(name)", contents: bytes))
            contents.append(ExtractedFile(name: name, size: name.hasSuffix(".bin") ? bytes.count : nil,
                                          md5: name.hasSuffix(".bin") ? Downloader.md5(of: bytes) : nil))
        }
        members.append(Tar.Member(path: "cifar-10-batches-bin/readme.html", contents: Array("<html></html>".utf8)))
        let tarball = mirror.appendingPathComponent("cifar/cifar-10-binary.tar.gz")
        try DataFixtures.write(Gzip.compress(Tar.archive(members)), to: tarball)

        catalog = DatasetCatalog([
            DatasetDescriptor(name: "mnist", title: "MNIST (test fixture)", baseURL: mnistFolder,
                              files: mnistFiles, layout: .files, folder: "mnist"),
            DatasetDescriptor(name: "cifar10", title: "CIFAR-10 (test fixture)", baseURL: tarball.deletingLastPathComponent(),
                              files: [RemoteFile(name: "cifar-10-binary.tar.gz", md5: try Downloader.md5(of: tarball))],
                              layout: .tarball, folder: "cifar-10-batches-bin", contents: contents),
        ])
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// The catalogue with dataset `name` changed by `change`.
    func catalog(changing name: String, _ change: (inout DatasetDescriptor) -> Void) -> DatasetCatalog {
        var copy = catalog
        let index = copy.datasets.firstIndex { $0.name == name }!
        change(&copy.datasets[index])
        return copy
    }
}

/// Collects log lines from the downloader.
private final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var storage = [String]()
    func append(_ line: String) { lock.lock(); storage.append(line); lock.unlock() }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return storage }
}

struct DownloaderTests {
    @Test func downloadsVerifiesAndInstallsFromFileURLs() throws {
        let fake = try FakeMirror()
        defer { fake.remove() }
        let log = LogLines()
        let downloader = Downloader(catalog: fake.catalog, log: { log.append($0) })

        let mnistFolder = try downloader.download("mnist", to: fake.data)
        #expect(mnistFolder.path == fake.data.appendingPathComponent("mnist").path)
        let cifarFolder = try downloader.download("CIFAR-10", to: fake.data)
        #expect(cifarFolder.lastPathComponent == "cifar-10-batches-bin")
        // Only the datasets' folders: no staging folders or archives left behind.
        #expect(DataFixtures.listing(fake.data) == ["cifar-10-batches-bin", "mnist"])
        #expect(DataFixtures.listing(cifarFolder).contains("readme.html"))
        #expect(log.lines.contains { $0.contains("verified train-images-idx3-ubyte.gz") })
        #expect(log.lines.contains { $0.contains("extracting cifar-10-binary.tar.gz") })

        let train = try MNIST.load(directory: fake.data, split: .train)
        #expect(train.images == fake.mnistTrain.images)
        #expect(try CIFAR10.load(directory: fake.data, split: .test).labels == fake.cifarTest)
        #expect(downloader.verify(directory: fake.data).map(\.state) == [.valid, .valid])

        // Already there and valid: nothing is fetched (the mirror is gone).
        try FileManager.default.removeItem(at: fake.mirror)
        #expect(try downloader.download("cifar10", to: fake.data).path == cifarFolder.path)
        #expect(log.lines.last?.contains("already present and valid") == true)
    }

    @Test func baseURLOverrideAndStaticEntryPoint() throws {
        let fake = try FakeMirror()
        defer { fake.remove() }
        // The catalogue points nowhere; the override points at the mirror.
        let catalog = fake.catalog(changing: "mnist") { $0.baseURL = URL(string: "https://invalid.example/none/")! }
        try Downloader.download("mnist", to: fake.data, baseURL: fake.mirror.appendingPathComponent("mnist"), catalog: catalog)
        #expect(try MNIST.load(directory: fake.data, split: .test).labels == fake.mnistTest.labels.map(Int32.init))
    }

    @Test(arguments: ["mnist", "cifar10"])
    func checksumMismatchLeavesNothingBehind(name: String) throws {
        let fake = try FakeMirror()
        defer { fake.remove() }
        let catalog = fake.catalog(changing: name) { $0.files[$0.files.count - 1].md5 = String(repeating: "0", count: 32) }
        let error = caughtDatasetError { try Downloader(catalog: catalog).download(name, to: fake.data) }
        let file = catalog.datasets.first { $0.name == name }!.files.last!.name
        #expect(error?.file.hasSuffix(file) == true)
        #expect(error?.file.hasPrefix("file://") == true)
        #expect(error?.location == "MD5 checksum")
        #expect(error?.message.contains("expected 00000000000000000000000000000000, got ") == true)
        #expect(error?.message.contains("nothing was kept") == true)
        #expect(DataFixtures.listing(fake.data) == [])
    }

    @Test func missingRemoteFileLeavesNothingBehind() throws {
        let fake = try FakeMirror()
        defer { fake.remove() }
        try FileManager.default.removeItem(at: fake.mirror.appendingPathComponent("mnist/t10k-images-idx3-ubyte.gz"))
        let error = caughtDatasetError { try Downloader(catalog: fake.catalog).download("mnist", to: fake.data) }
        #expect(error?.file.hasSuffix("t10k-images-idx3-ubyte.gz") == true)
        #expect(error?.location == "download")
        #expect(DataFixtures.listing(fake.data) == [])
    }

    @Test func archiveWithoutTheExpectedContentsIsRejected() throws {
        let fake = try FakeMirror()
        defer { fake.remove() }
        let wrongSize = fake.catalog(changing: "cifar10") { $0.contents[1].size = 1 }
        let sizeError = caughtDatasetError { try Downloader(catalog: wrongSize).download("cifar10", to: fake.data) }
        #expect(sizeError?.message.contains("data_batch_1.bin: 6146 bytes, expected 1") == true)
        let wrongFolder = fake.catalog(changing: "cifar10") { $0.folder = "cifar-10-py" }
        let folderError = caughtDatasetError { try Downloader(catalog: wrongFolder).download("cifar10", to: fake.data) }
        #expect(folderError?.message.contains("a folder cifar-10-py/") == true)
        #expect(DataFixtures.listing(fake.data) == [])
    }

    @Test func verifyReportsMissingIncompleteInvalidAndRecompressed() throws {
        let fake = try FakeMirror()
        defer { fake.remove() }
        let downloader = Downloader(catalog: fake.catalog)
        #expect(downloader.verify(directory: fake.data).map(\.state) == [.missing, .missing])
        try downloader.download("mnist", to: fake.data)
        try downloader.download("cifar10", to: fake.data)

        // A re-compressed copy (other bytes, same content) and a decompressed copy are valid.
        let folder = fake.data.appendingPathComponent("mnist")
        let labels = folder.appendingPathComponent("train-labels-idx1-ubyte.gz")
        let content = try Gzip.decompress(contentsOf: labels)
        try DataFixtures.write(Gzip.compress(content, level: 1) + [0, 0], to: labels)
        let images = folder.appendingPathComponent("t10k-images-idx3-ubyte.gz")
        try DataFixtures.write(try Gzip.decompress(contentsOf: images), to: folder.appendingPathComponent("t10k-images-idx3-ubyte"))
        try FileManager.default.removeItem(at: images)
        let recompressed = try downloader.verify("mnist", in: fake.data)
        #expect(recompressed.state == .valid)
        #expect(recompressed.notes.contains { $0.contains("train-labels-idx1-ubyte.gz: re-compressed copy") })
        #expect(recompressed.notes.contains { $0.contains("t10k-images-idx3-ubyte: stored decompressed") })

        // A changed byte makes it invalid; a deleted file makes it incomplete.
        var bytes = [UInt8](try Data(contentsOf: fake.data.appendingPathComponent("cifar-10-batches-bin/test_batch.bin")))
        bytes[100] ^= 1
        try DataFixtures.write(bytes, to: fake.data.appendingPathComponent("cifar-10-batches-bin/test_batch.bin"))
        let invalid = try downloader.verify("cifar10", in: fake.data)
        #expect(invalid.state == .invalid)
        #expect(invalid.notes.contains { $0.hasPrefix("test_batch.bin: MD5 ") })
        #expect(invalid.description.contains("cifar10: invalid"))
        try FileManager.default.removeItem(at: labels)
        #expect(try downloader.verify("mnist", in: fake.data).state == .incomplete)

        // Downloading again repairs both, in place.
        try downloader.download("cifar10", to: fake.data)
        try downloader.download("mnist", to: fake.data)
        #expect(downloader.verify(directory: fake.data).map(\.state) == [.valid, .valid])
        #expect(DataFixtures.listing(fake.data) == ["cifar-10-batches-bin", "mnist"])
    }

    @Test func unknownNamesListTheCatalogue() {
        let error = caughtDatasetError { _ = try DatasetCatalog.official.descriptor(named: "imagenet") }
        #expect(error?.file == "imagenet")
        #expect(error?.message.contains("mnist, fashion-mnist, cifar10, cifar100, svhn") == true)
        #expect((try? DatasetCatalog.official.descriptor(named: "Fashion_MNIST").name) == "fashion-mnist")
        #expect((try? DatasetCatalog.official.descriptor(named: "CIFAR-100").name) == "cifar100")
    }

    @Test func officialCatalogueHasThePublishedChecksums() throws {
        let catalog = DatasetCatalog.official
        let hex = Set("0123456789abcdef")
        for dataset in catalog.datasets {
            #expect(!dataset.files.isEmpty)
            for file in dataset.files {
                #expect(file.md5.count == 32 && file.md5.allSatisfy(hex.contains), "\(dataset.name)/\(file.name)")
                let url = dataset.url(of: file)
                #expect(url.scheme == "https" || url.scheme == "http")
                #expect(url.lastPathComponent == file.name)
            }
        }
        let cifar10 = try catalog.descriptor(named: "cifar10")
        #expect(cifar10.url(of: cifar10.files[0]).absoluteString == "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz")
        #expect(cifar10.files[0].md5 == "c32a1d4ab5d03f1284b67883e8d87530")
        #expect(try catalog.descriptor(named: "cifar100").files[0].md5 == "03b5dce01913d631647c71ecec9e9cb8")
        let mnist = try catalog.descriptor(named: "mnist")
        #expect(mnist.url(of: mnist.files[0]).absoluteString == "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz")
        #expect(mnist.files.map(\.md5) == ["f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                                           "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"])
        let svhn = try catalog.descriptor(named: "svhn")
        #expect(svhn.files.map(\.md5) == ["e26dedcc434d2e4c54c9b2d4a06d8373", "eb5a983be6a315427106f1b164d9cef3",
                                          "a93ce644f1a588dc4d68dda5feec44a7"])
        #expect(svhn.url(of: svhn.files[2]).absoluteString == "http://ufldl.stanford.edu/housenumbers/extra_32x32.mat")
    }

    @Test func md5OfKnownInput() throws {
        #expect(Downloader.md5(of: Array("".utf8)) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(Downloader.md5(of: Array("The quick brown fox jumps over the lazy dog".utf8)) == "9e107d9d372bb6826bd81d3542a419d6")
    }
}
