import Crypto
import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What ``Downloader/verify(directory:)`` found for one dataset.
public struct DatasetStatus: Sendable, Equatable, CustomStringConvertible {
    /// The verdict.
    public enum State: String, Sendable, Equatable {
        /// Every file is present and matches its published checksum (or known size).
        case valid
        /// The dataset's folder or all of its files are absent.
        case missing
        /// Some files are present and valid, others are absent.
        case incomplete
        /// At least one file is present but does not match.
        case invalid
    }

    /// The dataset's catalogue name.
    public var name: String
    /// The folder the dataset lives in.
    public var folder: URL
    /// The verdict for the dataset as a whole.
    public var state: State
    /// One line per file that is absent, wrong, or verified in a special way.
    public var notes: [String]

    public var description: String {
        ([("\(name): \(state.rawValue) (\(folder.path))")] + notes.map { "  " + $0 }).joined(separator: "\n")
    }
}

/// Downloads the datasets of a ``DatasetCatalog`` from their official addresses (or a
/// `baseURL` override, e.g. a `file://` mirror), verifies the published MD5 checksums and
/// installs them atomically in a data directory:
///
/// - `mnist/`, `fashion-mnist/` (the four `.gz` IDX files), `svhn/` (the `.mat` files);
/// - `cifar-10-batches-bin/`, `cifar-100-binary/` (extracted from the official tarballs).
///
/// Files are fetched into a hidden staging folder inside the data directory, checked, and
/// only then renamed into place; on any error (network, checksum, extraction) the staging
/// folder is removed and nothing is left behind.
public struct Downloader: Sendable {
    /// The datasets that can be downloaded.
    public var catalog: DatasetCatalog
    /// Replaces every dataset's official base URL when set (tests, mirrors).
    public var baseURL: URL?
    /// Receives one line per step (fetching, verifying, extracting).
    public var log: @Sendable (String) -> Void

    /// A downloader for `catalog`, fetching from `baseURL` instead of the official addresses
    /// when given, and reporting progress to `log`.
    public init(catalog: DatasetCatalog = .official, baseURL: URL? = nil, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.catalog = catalog
        self.baseURL = baseURL
        self.log = log
    }

    /// Downloads dataset `name` into `directory` with a default ``Downloader``; see
    /// ``download(_:to:force:)``.
    @discardableResult
    public static func download(_ name: String, to directory: URL, baseURL: URL? = nil,
                                catalog: DatasetCatalog = .official) throws -> URL {
        try Downloader(catalog: catalog, baseURL: baseURL).download(name, to: directory)
    }

    /// Verifies every dataset of the official catalogue in `directory`.
    public static func verify(directory: URL) -> [DatasetStatus] {
        Downloader().verify(directory: directory)
    }

    /// Downloads, verifies and installs dataset `name` under `directory` (created if needed)
    /// and returns the dataset's folder. Does nothing when the dataset is already there and
    /// valid, unless `force` is set.
    @discardableResult
    public func download(_ name: String, to directory: URL, force: Bool = false) throws -> URL {
        let dataset = try catalog.descriptor(named: name)
        let fileManager = FileManager.default
        let folder = directory.appendingPathComponent(dataset.folder)
        if !force, verify(dataset, in: directory).state == .valid {
            log("\(dataset.name): already present and valid in \(folder.path)")
            return folder
        }
        do {
            try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw DatasetError(file: directory.path, location: "directory", message: "cannot create the data directory: \(error.localizedDescription)")
        }
        let staging = directory.appendingPathComponent(".\(dataset.name).download-\(UUID().uuidString)")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: false)
        defer { try? fileManager.removeItem(at: staging) }

        let fetched = staging.appendingPathComponent("files")
        try fileManager.createDirectory(at: fetched, withIntermediateDirectories: false)
        for file in dataset.files {
            let source = dataset.url(of: file, base: baseURL)
            let destination = fetched.appendingPathComponent(file.name)
            log("fetching \(source.absoluteString)")
            try fetch(source, to: destination)
            let digest = try Self.md5(of: destination)
            guard digest == file.md5.lowercased() else {
                throw DatasetError(file: source.absoluteString, location: "MD5 checksum",
                                   message: "expected \(file.md5), got \(digest): the download is corrupt or not the official file; nothing was kept")
            }
            log("verified \(file.name) (MD5 \(digest))")
        }

        switch dataset.layout {
        case .files:
            try install(fetched, as: folder)
        case .tarball:
            let archive = fetched.appendingPathComponent(dataset.files[0].name)
            let extracted = staging.appendingPathComponent("extracted")
            log("extracting \(dataset.files[0].name)")
            try Tar.extract(archive: archive, to: extracted)
            let result = extracted.appendingPathComponent(dataset.folder)
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: result.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw DatasetError(file: archive.lastPathComponent, location: "archive contents",
                                   message: "expected the archive to hold a folder \(dataset.folder)/; nothing was kept")
            }
            let problems = check(dataset.contents, in: result, deep: true)
            guard problems.isEmpty else {
                throw DatasetError(file: archive.lastPathComponent, location: "archive contents",
                                   message: problems.joined(separator: "; ") + "; nothing was kept")
            }
            try install(result, as: folder)
        }
        log("\(dataset.name): installed in \(folder.path)")
        return folder
    }

    /// Moves the verified folder `source` into place as `target`: a single rename when
    /// `target` does not exist, otherwise file by file (each replacing its old version).
    private func install(_ source: URL, as target: URL) throws {
        let fileManager = FileManager.default
        do {
            if !fileManager.fileExists(atPath: target.path) {
                try fileManager.moveItem(at: source, to: target)
                return
            }
            for item in try fileManager.contentsOfDirectory(atPath: source.path) {
                let destination = target.appendingPathComponent(item)
                let replacement = source.appendingPathComponent(item)
                if fileManager.fileExists(atPath: destination.path) {
                    // Move the old version aside, into the staging folder that is removed afterwards.
                    let old = source.deletingLastPathComponent().appendingPathComponent(".old-\(UUID().uuidString)")
                    try fileManager.moveItem(at: destination, to: old)
                    do {
                        try fileManager.moveItem(at: replacement, to: destination)
                    } catch {
                        try? fileManager.moveItem(at: old, to: destination)
                        throw error
                    }
                } else {
                    try fileManager.moveItem(at: replacement, to: destination)
                }
            }
        } catch {
            throw DatasetError(file: target.path, location: "install", message: "cannot move the downloaded files into place: \(error.localizedDescription)")
        }
    }

    /// Fetches `source` into `destination`: http(s) with URLSession, `file://` URLs by a
    /// file copy (swift-corelibs-foundation's URLSession has no `file` protocol on Linux).
    func fetch(_ source: URL, to destination: URL) throws {
        if source.isFileURL {
            do {
                try FileManager.default.copyItem(at: source, to: destination)
            } catch {
                throw DatasetError(file: source.absoluteString, location: "download",
                                   message: "cannot copy the file: \(error.localizedDescription); nothing was kept")
            }
            return
        }
        final class Outcome: @unchecked Sendable {
            var error: Error?
            var status: Int?
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let task = URLSession.shared.downloadTask(with: source) { location, response, error in
            defer { done.signal() }
            if let error {
                outcome.error = error
                return
            }
            if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                outcome.status = http.statusCode
                return
            }
            guard let location else {
                outcome.status = -1
                return
            }
            do {
                try FileManager.default.moveItem(at: location, to: destination)
            } catch {
                outcome.error = error
            }
        }
        task.resume()
        done.wait()
        if let error = outcome.error {
            throw DatasetError(file: source.absoluteString, location: "download",
                               message: "download failed: \(error.localizedDescription); nothing was kept")
        }
        if let status = outcome.status {
            throw DatasetError(file: source.absoluteString, location: "download",
                               message: status < 0 ? "download produced no file; nothing was kept"
                                   : "server answered HTTP \(status); nothing was kept")
        }
    }

    // MARK: Verification

    /// The state of every dataset of the catalogue in `directory`.
    public func verify(directory: URL) -> [DatasetStatus] {
        catalog.datasets.map { verify($0, in: directory) }
    }

    /// The state of dataset `name` in `directory`.
    public func verify(_ name: String, in directory: URL) throws -> DatasetStatus {
        verify(try catalog.descriptor(named: name), in: directory)
    }

    func verify(_ dataset: DatasetDescriptor, in directory: URL) -> DatasetStatus {
        let folder = directory.appendingPathComponent(dataset.folder)
        var status = DatasetStatus(name: dataset.name, folder: folder, state: .valid, notes: [])
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            status.state = .missing
            status.notes = ["no folder \(dataset.folder)/; download with `kusari data download \(dataset.name) --to \(directory.path)`"]
            return status
        }
        var present = 0, absent = 0, wrong = 0
        switch dataset.layout {
        case .files:
            for file in dataset.files {
                switch check(file, in: folder) {
                case .absent: absent += 1; status.notes.append("\(file.name): missing")
                case .wrong(let note): wrong += 1; status.notes.append(note)
                case .valid(let note): present += 1; if let note { status.notes.append(note) }
                }
            }
        case .tarball:
            for file in dataset.contents {
                let url = folder.appendingPathComponent(file.name)
                if !FileManager.default.fileExists(atPath: url.path) {
                    absent += 1
                    status.notes.append("\(file.name): missing")
                } else if let problem = check(file, at: url, deep: true) {
                    wrong += 1
                    status.notes.append(problem)
                } else {
                    present += 1
                }
            }
        }
        if wrong > 0 {
            status.state = .invalid
        } else if absent > 0 {
            status.state = present == 0 ? .missing : .incomplete
        }
        return status
    }

    private enum FileCheck { case absent, wrong(String), valid(String?) }

    /// Checks a published file: its MD5, or for gzip files stored re-compressed or
    /// decompressed, the MD5 of the content.
    private func check(_ file: RemoteFile, in folder: URL) -> FileCheck {
        let fileManager = FileManager.default
        let url = folder.appendingPathComponent(file.name)
        if fileManager.fileExists(atPath: url.path) {
            guard let digest = try? Self.md5(of: url) else { return .wrong("\(file.name): cannot be read") }
            if digest == file.md5.lowercased() { return .valid(nil) }
            if let contentMD5 = file.contentMD5, Gzip.isGzip(fileAt: url) {
                do {
                    let content = try Gzip.decompress(contentsOf: url)
                    if Self.md5(of: content) == contentMD5.lowercased() {
                        return .valid("\(file.name): re-compressed copy, decompressed content matches the official MD5 \(contentMD5)")
                    }
                    return .wrong("\(file.name): MD5 \(digest), expected \(file.md5) (decompressed content does not match either)")
                } catch {
                    return .wrong("\(file.name): \(error)")
                }
            }
            return .wrong("\(file.name): MD5 \(digest), expected \(file.md5)")
        }
        if let contentMD5 = file.contentMD5, file.name.hasSuffix(".gz") {
            let plain = folder.appendingPathComponent(String(file.name.dropLast(3)))
            if fileManager.fileExists(atPath: plain.path) {
                guard let digest = try? Self.md5(of: plain) else { return .wrong("\(plain.lastPathComponent): cannot be read") }
                return digest == contentMD5.lowercased()
                    ? .valid("\(plain.lastPathComponent): stored decompressed, MD5 matches the official content")
                    : .wrong("\(plain.lastPathComponent): MD5 \(digest), expected \(contentMD5)")
            }
        }
        return .absent
    }

    /// Problems with the extracted files `expected` in `folder` (empty when all is well).
    private func check(_ expected: [ExtractedFile], in folder: URL, deep: Bool) -> [String] {
        expected.compactMap { file in
            let url = folder.appendingPathComponent(file.name)
            guard FileManager.default.fileExists(atPath: url.path) else { return "\(file.name) is missing" }
            return check(file, at: url, deep: deep)
        }
    }

    private func check(_ file: ExtractedFile, at url: URL, deep: Bool) -> String? {
        if let size = file.size {
            let actual = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? -1
            if actual != size { return "\(file.name): \(actual) bytes, expected \(size)" }
        }
        if deep, let md5 = file.md5 {
            guard let digest = try? Self.md5(of: url) else { return "\(file.name): cannot be read" }
            if digest != md5.lowercased() { return "\(file.name): MD5 \(digest), expected \(md5)" }
        }
        return nil
    }

    // MARK: Checksums

    /// The MD5 of the file at `url`, as lower-case hex (read in 4 MiB chunks).
    public static func md5(of url: URL) throws -> String {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw DatasetError(file: url.path, location: "open", message: "cannot open file: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        var hasher = Insecure.MD5()
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 1 << 22)
            } catch {
                throw DatasetError(file: url.path, location: "read", message: "read failed: \(error.localizedDescription)")
            }
            guard let chunk, !chunk.isEmpty else { break }
            hasher.update(data: chunk)
        }
        return hex(hasher.finalize())
    }

    /// The MD5 of `bytes`, as lower-case hex.
    public static func md5(of bytes: [UInt8]) -> String {
        hex(Insecure.MD5.hash(data: bytes))
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
