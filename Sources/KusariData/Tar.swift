import Foundation

/// A small reader and writer of tar archives (POSIX ustar with GNU long names and pax `path`
/// records), plain or gzip-compressed — enough for the official dataset tarballs such as
/// `cifar-10-binary.tar.gz`.
///
/// Only regular files and directories are extracted; links and device entries are refused,
/// and so is any path that would land outside the target directory.
public enum Tar {
    /// One archive member.
    public struct Member: Sendable, Equatable {
        /// Relative path inside the archive, `/`-separated.
        public var path: String
        /// Whether the member is a directory (then `contents` is empty).
        public var isDirectory: Bool
        /// The file's bytes.
        public var contents: [UInt8]

        /// A regular file.
        public init(path: String, contents: [UInt8]) {
            self.path = path
            self.isDirectory = false
            self.contents = contents
        }

        /// A directory.
        public init(directory path: String) {
            self.path = path
            self.isDirectory = true
            self.contents = []
        }
    }

    static let blockSize = 512

    // MARK: Reading

    /// All members of the archive at `url` (gzip-compressed or not), read into memory.
    public static func members(of url: URL) throws -> [Member] {
        var result = [Member]()
        try TarParser(url: url).forEach { header, reader in
            var contents = [UInt8]()
            if header.kind == .file {
                contents.reserveCapacity(header.size)
                try reader.readData(header.size) { contents += $0 }
            }
            result.append(header.kind == .directory ? Member(directory: header.path) : Member(path: header.path, contents: contents))
        }
        return result
    }

    /// Extracts the archive at `archive` (gzip-compressed or not) into `directory`, atomically:
    /// everything is first extracted into a temporary directory beside `directory`, then moved
    /// into place by renaming — `directory` itself when it did not exist, otherwise each
    /// top-level item of the archive (replacing an existing item of the same name). On any
    /// error nothing is left behind. Returns the relative paths of the extracted files.
    @discardableResult
    public static func extract(archive: URL, to directory: URL) throws -> [String] {
        let fileManager = FileManager.default
        let parent = directory.deletingLastPathComponent()
        do {
            try fileManager.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw DatasetError(file: parent.path, location: "directory", message: "cannot create directory: \(error.localizedDescription)")
        }
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).partial-\(UUID().uuidString)")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: false)
        var moved = false
        defer { if !moved { try? fileManager.removeItem(at: staging) } }

        var files = [String]()
        try TarParser(url: archive).forEach { header, reader in
            let destination = staging.appendingPathComponent(header.path)
            switch header.kind {
            case .directory:
                try fileManager.createDirectory(at: destination, withIntermediateDirectories: true)
            case .file:
                try fileManager.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
                guard fileManager.createFile(atPath: destination.path, contents: nil) else {
                    throw DatasetError(file: destination.path, location: "create", message: "cannot create file while extracting \(archive.path)")
                }
                let handle = try FileHandle(forWritingTo: destination)
                defer { try? handle.close() }
                try reader.readData(header.size) { try handle.write(contentsOf: $0) }
                if header.mode & 0o111 != 0 {
                    try? fileManager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: destination.path)
                }
                files.append(header.path)
            }
        }

        if !fileManager.fileExists(atPath: directory.path) {
            try fileManager.moveItem(at: staging, to: directory)
            moved = true
            return files
        }
        for item in try fileManager.contentsOfDirectory(atPath: staging.path) {
            let target = directory.appendingPathComponent(item)
            var old: URL?
            if fileManager.fileExists(atPath: target.path) {
                // Move the old item aside into the staging folder (removed with it), then rename in.
                old = staging.appendingPathComponent(".old-\(UUID().uuidString)")
                try fileManager.moveItem(at: target, to: old!)
            }
            do {
                try fileManager.moveItem(at: staging.appendingPathComponent(item), to: target)
            } catch {
                if let old { try? fileManager.moveItem(at: old, to: target) }
                throw DatasetError(file: target.path, location: "rename",
                                   message: "cannot move the extracted item into place: \(error.localizedDescription)")
            }
        }
        return files
    }

    // MARK: Writing

    /// A tar archive (ustar, with GNU long-name records for paths ustar cannot hold) of `members`.
    public static func archive(_ members: [Member]) -> [UInt8] {
        var out = [UInt8]()
        for member in members {
            var path = member.path
            if member.isDirectory && !path.hasSuffix("/") { path += "/" }
            let typeflag: UInt8 = member.isDirectory ? UInt8(ascii: "5") : UInt8(ascii: "0")
            var name = path, prefix = ""
            if Array(path.utf8).count > 100 {
                if let split = ustarSplit(path) {
                    (prefix, name) = split
                } else {
                    // GNU extension: a `././@LongLink` entry of type `L` holding the full name.
                    let longName = Array(path.utf8) + [0]
                    out += header(name: "././@LongLink", prefix: "", size: longName.count, typeflag: UInt8(ascii: "L"), mode: 0o644)
                    out += padded(longName)
                    name = String(decoding: Array(path.utf8).prefix(100), as: UTF8.self)
                }
            }
            let contents = member.isDirectory ? [] : member.contents
            out += header(name: name, prefix: prefix, size: contents.count, typeflag: typeflag,
                          mode: member.isDirectory ? 0o755 : 0o644)
            out += padded(contents)
        }
        out += [UInt8](repeating: 0, count: 2 * blockSize)
        return out
    }

    /// Splits `path` into a ustar prefix (≤ 155 bytes) and name (≤ 100 bytes) at a `/`.
    static func ustarSplit(_ path: String) -> (prefix: String, name: String)? {
        let bytes = Array(path.utf8)
        for i in bytes.indices.reversed() where bytes[i] == UInt8(ascii: "/") {
            let prefix = bytes[..<i], name = bytes[(i + 1)...]
            if prefix.count <= 155 && name.count <= 100 && !name.isEmpty {
                return (String(decoding: prefix, as: UTF8.self), String(decoding: name, as: UTF8.self))
            }
        }
        return nil
    }

    static func padded(_ bytes: [UInt8]) -> [UInt8] {
        let remainder = bytes.count % blockSize
        return remainder == 0 ? bytes : bytes + [UInt8](repeating: 0, count: blockSize - remainder)
    }

    static func header(name: String, prefix: String, size: Int, typeflag: UInt8, mode: Int) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: blockSize)
        func put(_ bytes: [UInt8], at offset: Int, width: Int) {
            for (i, byte) in bytes.prefix(width).enumerated() { block[offset + i] = byte }
        }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(Array(name.utf8), at: 0, width: 100)
        put(octal(mode, width: 8), at: 100, width: 8)
        put(octal(0, width: 8), at: 108, width: 8)
        put(octal(0, width: 8), at: 116, width: 8)
        put(octal(size, width: 12), at: 124, width: 12)
        put(octal(0, width: 12), at: 136, width: 12)
        block[156] = typeflag
        put(Array("ustar".utf8) + [0], at: 257, width: 6)
        put(Array("00".utf8), at: 263, width: 2)
        put(Array(prefix.utf8), at: 345, width: 155)
        for i in 148..<156 { block[i] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + Int($1) }
        put(Array((String(repeating: "0", count: max(0, 6 - String(sum, radix: 8).count)) + String(sum, radix: 8)).utf8) + [0, UInt8(ascii: " ")],
            at: 148, width: 8)
        return block
    }
}

/// A header of a member that gets extracted.
struct TarHeader {
    enum Kind { case file, directory }
    var path: String
    var kind: Kind
    var size: Int
    var mode: Int
}

/// Sequential access to the bytes of a (possibly gzipped) tar file.
final class TarReader {
    let file: String
    private let gzip: GzipReader?
    private let handle: FileHandle?
    /// Bytes of the uncompressed tar stream consumed so far.
    private(set) var offset = 0

    init(url: URL) throws {
        file = url.path
        if Gzip.isGzip(fileAt: url) {
            gzip = try GzipReader(url: url)
            handle = nil
        } else {
            do {
                handle = try FileHandle(forReadingFrom: url)
            } catch {
                throw DatasetError(file: url.path, location: "open", message: "cannot open archive: \(error.localizedDescription)")
            }
            gzip = nil
        }
    }

    deinit { try? handle?.close() }

    /// Up to `count` bytes; fewer only at the end of the archive.
    func read(_ count: Int) throws -> [UInt8] {
        var bytes: [UInt8]
        if let gzip {
            bytes = try gzip.read(upTo: count)
        } else {
            bytes = []
            while bytes.count < count {
                let chunk: Data?
                do {
                    chunk = try handle!.read(upToCount: count - bytes.count)
                } catch {
                    throw DatasetError(file: file, location: "byte offset \(offset + bytes.count)", message: "read failed: \(error.localizedDescription)")
                }
                guard let chunk, !chunk.isEmpty else { break }
                bytes += chunk
            }
        }
        offset += bytes.count
        return bytes
    }

    /// Passes the `size` data bytes of the current member to `body` in chunks, then skips the
    /// padding up to the next 512-byte block.
    func readData(_ size: Int, _ body: ([UInt8]) throws -> Void) throws {
        var remaining = size
        let start = offset
        while remaining > 0 {
            let chunk = try read(min(remaining, 1 << 20))
            guard !chunk.isEmpty else {
                throw DatasetError(file: file, location: "byte offset \(offset)",
                                   message: "truncated archive: member data starting at byte offset \(start) needs \(size) bytes, found \(size - remaining)")
            }
            try body(chunk)
            remaining -= chunk.count
        }
        try skip((Tar.blockSize - size % Tar.blockSize) % Tar.blockSize)
    }

    /// Skips `count` bytes, failing if the archive ends first.
    func skip(_ count: Int) throws {
        var remaining = count
        let start = offset
        while remaining > 0 {
            let chunk = try read(min(remaining, 1 << 20))
            guard !chunk.isEmpty else {
                throw DatasetError(file: file, location: "byte offset \(offset)",
                                   message: "truncated archive: expected \(count) more bytes after byte offset \(start)")
            }
            remaining -= chunk.count
        }
    }
}

/// Walks the headers of a tar archive, resolving GNU long names and pax paths and checking
/// each header's check sum and path.
struct TarParser {
    let reader: TarReader

    init(url: URL) throws {
        reader = try TarReader(url: url)
    }

    private func error(_ offset: Int, _ message: String) -> DatasetError {
        DatasetError(file: reader.file, location: "header at byte offset \(offset)", message: message)
    }

    /// Calls `body` for every file and directory member, with the reader positioned at the
    /// member's data (`body` must consume exactly `header.size` bytes for files, via
    /// `readData`; directories have none).
    func forEach(_ body: (TarHeader, TarReader) throws -> Void) throws {
        var longName: String?
        var paxPath: String?
        var sawMember = false
        while true {
            let headerOffset = reader.offset
            let block = try reader.read(Tar.blockSize)
            if block.isEmpty {
                guard sawMember else { throw error(headerOffset, "empty archive: expected a tar header") }
                return  // end of file without the two zero blocks: accepted, like GNU tar
            }
            guard block.count == Tar.blockSize else {
                throw error(headerOffset, "truncated archive: expected a 512-byte header, found \(block.count) bytes")
            }
            if block.allSatisfy({ $0 == 0 }) { return }  // end-of-archive marker
            sawMember = true

            let stored = try number(block, 148, 8, "chksum", headerOffset)
            var unsigned = 0, signed = 0
            for (i, byte) in block.enumerated() {
                let value = (148..<156).contains(i) ? 0x20 : byte
                unsigned += Int(value)
                signed += Int(Int8(bitPattern: value))
            }
            guard stored == unsigned || stored == signed else {
                throw error(headerOffset, "bad header check sum: stored \(stored), computed \(unsigned) (not a tar archive, or corrupt)")
            }
            let size = try number(block, 124, 12, "size", headerOffset)
            let mode = (try? number(block, 100, 8, "mode", headerOffset)) ?? 0o644
            let typeflag = block[156]
            let magic = block[257..<262]
            var path = string(block, 0, 100)
            if Array(magic) == Array("ustar".utf8) {
                let prefix = string(block, 345, 155)
                if !prefix.isEmpty { path = prefix + "/" + path }
            }

            switch typeflag {
            case UInt8(ascii: "L"):
                var name = [UInt8]()
                try reader.readData(size) { name += $0 }
                longName = String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
                continue
            case UInt8(ascii: "x"):
                var record = [UInt8]()
                try reader.readData(size) { record += $0 }
                if let value = paxValue(record, key: "path") { paxPath = value }
                continue
            case UInt8(ascii: "g"), UInt8(ascii: "K"):
                try reader.readData(size) { _ in }
                continue
            default:
                break
            }
            if let name = paxPath ?? longName { path = name }
            longName = nil
            paxPath = nil

            let kind: TarHeader.Kind
            switch typeflag {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
                kind = path.hasSuffix("/") ? .directory : .file
            case UInt8(ascii: "5"):
                kind = .directory
            case UInt8(ascii: "1"), UInt8(ascii: "2"):
                throw error(headerOffset, "member '\(path)' is a \(typeflag == UInt8(ascii: "1") ? "hard" : "symbolic") link; links are not extracted")
            default:
                throw error(headerOffset, "member '\(path)' has unsupported type '\(Character(UnicodeScalar(typeflag)))' (only files and directories are extracted)")
            }
            let safe = try safePath(path, headerOffset)
            if safe.isEmpty {  // "./" — the archive root
                try reader.readData(kind == .file ? size : 0) { _ in }
                continue
            }
            try body(TarHeader(path: safe, kind: kind, size: kind == .file ? size : 0, mode: mode), reader)
            if kind == .directory && size > 0 { try reader.readData(size) { _ in } }
        }
    }

    /// `path` normalised (no `.` or empty components), refusing absolute paths and `..`.
    private func safePath(_ path: String, _ offset: Int) throws -> String {
        guard !path.hasPrefix("/") else {
            throw error(offset, "member path '\(path)' is absolute and would escape the target directory")
        }
        var parts = [Substring]()
        for part in path.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            guard part != ".." else {
                throw error(offset, "member path '\(path)' contains '..' and would escape the target directory")
            }
            parts.append(part)
        }
        return parts.joined(separator: "/")
    }

    private func string(_ block: [UInt8], _ start: Int, _ width: Int) -> String {
        String(decoding: block[start..<(start + width)].prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal field (NUL/space terminated), or GNU base-256 when the high bit is set.
    private func number(_ block: [UInt8], _ start: Int, _ width: Int, _ field: String, _ offset: Int) throws -> Int {
        let bytes = block[start..<(start + width)]
        if let first = bytes.first, first & 0x80 != 0 {
            var value = Int(first & 0x7F)
            for byte in bytes.dropFirst() {
                guard value < Int.max >> 8 else { throw error(offset, "field \(field) is too large") }
                value = value << 8 | Int(byte)
            }
            return value
        }
        let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        if text.isEmpty { return 0 }
        guard let value = Int(text, radix: 8), value >= 0 else {
            throw error(offset, "field \(field) is '\(text)', expected an octal number (not a tar archive, or corrupt)")
        }
        return value
    }

    /// The value of `key` in a pax extended header (`"<length> <key>=<value>\n"` records).
    private func paxValue(_ record: [UInt8], key: String) -> String? {
        var index = 0
        while index < record.count {
            guard let space = record[index...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: record[index..<space], as: UTF8.self)), length > 0,
                  index + length <= record.count else { return nil }
            let entry = String(decoding: record[(space + 1)..<(index + length)], as: UTF8.self)
            if let equals = entry.firstIndex(of: "="), entry[..<equals] == key {
                var value = String(entry[entry.index(after: equals)...])
                if value.hasSuffix("\n") { value.removeLast() }
                return value
            }
            index += length
        }
        return nil
    }
}
