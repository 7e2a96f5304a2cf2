import Foundation
@testable import KusariData
import Testing

struct GzipTests {
    @Test(arguments: [0, 1, 511, 70_000, 300_000])
    func roundTrip(size: Int) throws {
        let data = DataFixtures.bytes(size, seed: UInt32(size))
        let compressed = Gzip.compress(data)
        #expect(Gzip.isGzip(compressed))
        #expect(try Gzip.decompress(compressed) == data)
    }

    @Test func readsConcatenatedMembersAndZeroPadding() throws {
        let a = Array("first member, ".utf8), b = Array("second member".utf8)
        let joined = Gzip.compress(a) + Gzip.compress(b, level: 9) + [UInt8](repeating: 0, count: 100)
        #expect(try Gzip.decompress(joined) == a + b)
    }

    @Test func streamsInSmallReads() throws {
        let data = DataFixtures.bytes(200_000, seed: 3)
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("data.gz")
        try DataFixtures.write(Gzip.compress(data), to: url)
        let reader = try GzipReader(url: url)
        var out = [UInt8]()
        while true {
            let chunk = try reader.read(upTo: 7_777)
            if chunk.isEmpty { break }
            out += chunk
        }
        #expect(out == data)
        #expect(reader.offset == data.count)
    }

    @Test func rejectsDataThatIsNotGzip() {
        let error = caughtDatasetError { _ = try Gzip.decompress(Array("hello".utf8), file: "notes.txt.gz") }
        #expect(error?.file == "notes.txt.gz")
        #expect(error?.description.contains("gzip magic") == true)
        #expect(error?.description.contains("68 65") == true)  // "he"
    }

    @Test func reportsTruncatedData() {
        let compressed = Gzip.compress(DataFixtures.bytes(50_000, seed: 9))
        let error = caughtDatasetError { _ = try Gzip.decompress(Array(compressed.prefix(compressed.count / 2)), file: "half.gz") }
        #expect(error?.file == "half.gz")
        #expect(error?.description.contains("truncated") == true)
        #expect(error?.location.contains("compressed byte offset") == true)
    }

    @Test func reportsCorruptDataAndBadCheckSums() {
        var compressed = Gzip.compress(Array(repeating: UInt8(ascii: "a"), count: 10_000) + DataFixtures.bytes(1_000, seed: 1))
        // A damaged trailer (CRC-32 of the content) must be caught.
        var badTrailer = compressed
        badTrailer[badTrailer.count - 6] ^= 0xFF
        let crcError = caughtDatasetError { _ = try Gzip.decompress(badTrailer, file: "crc.gz") }
        #expect(crcError?.description.contains("corrupt gzip data") == true)
        #expect(crcError?.file == "crc.gz")
        // Damaged deflate data: an invalid block type.
        compressed[10] = 0xFF
        let dataError = caughtDatasetError { _ = try Gzip.decompress(compressed, file: "bad.gz") }
        #expect(dataError?.description.contains("corrupt gzip data") == true)
        #expect(dataError?.location.contains("compressed byte offset") == true)
    }

    @Test func rejectsGarbageAfterTheStream() {
        let data = Gzip.compress(Array("payload".utf8)) + Array("junk".utf8)
        let error = caughtDatasetError { _ = try Gzip.decompress(data, file: "junk.gz") }
        #expect(error?.description.contains("after the end of the gzip stream") == true)
    }
}

struct TarTests {
    static let members = [
        Tar.Member(directory: "dataset"),
        Tar.Member(path: "dataset/a.bin", contents: DataFixtures.bytes(1_000, seed: 1)),
        Tar.Member(path: "dataset/empty.txt", contents: []),
        Tar.Member(path: "dataset/exact.bin", contents: DataFixtures.bytes(1_024, seed: 2)),
        // 150 bytes: stored with a ustar prefix.
        Tar.Member(path: "dataset/" + String(repeating: "d", count: 90) + "/" + String(repeating: "f", count: 50), contents: [1, 2, 3]),
        // A 120-byte final component: needs a GNU long-name record.
        Tar.Member(path: "dataset/" + String(repeating: "n", count: 120), contents: [4, 5]),
    ]

    @Test(arguments: [false, true])
    func roundTripThroughMembers(compressed: Bool) throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tar = Tar.archive(Self.members)
        #expect(tar.count % 512 == 0)
        let url = directory.appendingPathComponent(compressed ? "a.tar.gz" : "a.tar")
        try DataFixtures.write(compressed ? Gzip.compress(tar) : tar, to: url)
        #expect(try Tar.members(of: url) == Self.members)
    }

    @Test func extractsFilesIntoANewDirectory() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let archive = directory.appendingPathComponent("a.tar.gz")
        try DataFixtures.write(Gzip.compress(Tar.archive(Self.members)), to: archive)
        let target = directory.appendingPathComponent("out")
        let files = try Tar.extract(archive: archive, to: target)
        #expect(files.count == Self.members.count - 1)
        for member in Self.members where !member.isDirectory {
            let data = try Data(contentsOf: target.appendingPathComponent(member.path))
            #expect([UInt8](data) == member.contents, "\(member.path)")
        }
        // No temporary folder is left beside the target.
        #expect(DataFixtures.listing(directory) == ["a.tar.gz", "out"])
    }

    @Test func extractingIntoAnExistingDirectoryReplacesOnlyTheArchiveItems() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("data")
        try DataFixtures.write([9], to: target.appendingPathComponent("other/keep.txt"))
        try DataFixtures.write([9], to: target.appendingPathComponent("dataset/stale.bin"))
        let archive = directory.appendingPathComponent("a.tar")
        try DataFixtures.write(Tar.archive(Self.members), to: archive)
        try Tar.extract(archive: archive, to: target)
        #expect(DataFixtures.listing(target) == ["dataset", "other"])
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("other/keep.txt").path))
        #expect(!FileManager.default.fileExists(atPath: target.appendingPathComponent("dataset/stale.bin").path))
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("dataset/a.bin").path))
        #expect(DataFixtures.listing(directory) == ["a.tar", "data"])
    }

    @Test(arguments: ["../evil.txt", "/etc/evil.txt", "dataset/../../evil.txt"])
    func refusesPathsEscapingTheTarget(path: String) throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let archive = directory.appendingPathComponent("evil.tar")
        try DataFixtures.write(Tar.archive([Tar.Member(path: "dataset/ok.txt", contents: [1]),
                                            Tar.Member(path: path, contents: [6, 6, 6])]), to: archive)
        let target = directory.appendingPathComponent("box/out")
        let error = caughtDatasetError { try Tar.extract(archive: archive, to: target) }
        #expect(error?.file == archive.path)
        #expect(error?.description.contains("escape the target directory") == true)
        #expect(error?.location.contains("header at byte offset 1024") == true)
        // Atomic: nothing was extracted, and no temporary folder remains.
        #expect(DataFixtures.listing(directory.appendingPathComponent("box")) == [])
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("evil.txt").path))
    }

    @Test func reportsCorruptAndTruncatedArchives() throws {
        let directory = try DataFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var tar = Tar.archive(Self.members)
        // Damaged second header (the file name of a.bin): check-sum mismatch.
        tar[512 + 3] ^= 0x20
        let corrupt = directory.appendingPathComponent("corrupt.tar")
        try DataFixtures.write(tar, to: corrupt)
        let checksumError = caughtDatasetError { _ = try Tar.members(of: corrupt) }
        #expect(checksumError?.file == corrupt.path)
        #expect(checksumError?.location == "header at byte offset 512")
        #expect(checksumError?.description.contains("check sum") == true)

        // Cut in the middle of a.bin's data (which starts at byte 1024).
        let truncated = directory.appendingPathComponent("truncated.tar.gz")
        try DataFixtures.write(Gzip.compress(Array(Tar.archive(Self.members).prefix(1024 + 600))), to: truncated)
        let target = directory.appendingPathComponent("out")
        let truncatedError = caughtDatasetError { try Tar.extract(archive: truncated, to: target) }
        #expect(truncatedError?.description.contains("truncated archive") == true)
        #expect(truncatedError?.description.contains("byte offset 1024") == true)
        #expect(!FileManager.default.fileExists(atPath: target.path))
        #expect(DataFixtures.listing(directory) == ["corrupt.tar", "truncated.tar.gz"])

        // Not a tar file at all.
        let text = directory.appendingPathComponent("text.tar")
        try DataFixtures.write(Array(String(repeating: "not a tar file\n", count: 100).utf8), to: text)
        let textError = caughtDatasetError { _ = try Tar.members(of: text) }
        #expect(textError?.location == "header at byte offset 0")
    }
}
