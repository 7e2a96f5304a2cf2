import Foundation
import ZIPFoundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reader and writer for NumPy `.npz` archives: zip files whose members are `.npy` files named
/// `NAME.npy`, as written by `numpy.savez` and `numpy.savez_compressed`.
public enum NPZ {
    /// Writes `arrays` as an `.npz` archive with members `NAME.npy`, in the given order.
    ///
    /// The write is atomic: the archive is built in a temporary file in the destination's directory,
    /// synced, then renamed over `url`, so a crash never leaves a half-written checkpoint and no
    /// temporary file remains afterwards (also when an error is thrown).
    ///
    /// - Parameters:
    ///   - arrays: The arrays and their names; names must be unique.
    ///   - url: The destination file; it is replaced if it exists.
    ///   - compressed: Deflate each member, like `numpy.savez_compressed`; otherwise store them, like `numpy.savez`.
    /// - Throws: ``SerializationError`` for duplicate names, inconsistent arrays or I/O failures.
    public static func write(_ arrays: [(name: String, array: NPYArray)], to url: URL,
                             compressed: Bool = false) throws {
        let context = SerializationContext(url: url)
        var seen = Set<String>()
        var headers: [[UInt8]] = []
        for (name, array) in arrays {
            let member = name + ".npy"
            guard seen.insert(member).inserted else {
                throw SerializationError(kind: .duplicateMember, file: context.file, member: member,
                                         message: "array name '\(name)' is given more than once, expected unique names")
            }
            headers.append(try NPY.encodeHeader(array, context: SerializationContext(file: context.file, member: member)))
        }
        try context.writeAtomically(to: url) { temporary in
            let archive: Archive
            do {
                archive = try Archive(url: temporary, accessMode: .create)
            } catch {
                throw context.error(.io, .none, "cannot create temporary file '\(temporary.lastPathComponent)': \(SerializationContext.reason(error))")
            }
            for ((name, array), header) in zip(arrays, headers) {
                let member = name + ".npy"
                let total = header.count + array.bytes.count
                do {
                    try archive.addEntry(with: member, type: .file, uncompressedSize: Int64(total),
                                         compressionMethod: compressed ? .deflate : .none,
                                         bufferSize: 1 << 20) { position, size in
                        chunk(of: header, then: array.bytes, from: Int(position), count: size)
                    }
                } catch {
                    throw SerializationError(kind: .io, file: context.file, member: member,
                                             message: "cannot write member to temporary file '\(temporary.lastPathComponent)': \(SerializationContext.reason(error))")
                }
            }
        }
    }

    /// Reads every array of an `.npz` archive, keyed by member name without the `.npy` suffix.
    ///
    /// Accepts stored and deflate-compressed members (`numpy.savez` and `numpy.savez_compressed`)
    /// and ZIP64 archives. Every member's CRC-32 is verified.
    /// - Throws: ``SerializationError`` naming the file, member, offset or header field and what was wrong.
    public static func read(from url: URL) throws -> [String: NPYArray] {
        var result: [String: NPYArray] = [:]
        for (name, array) in try readOrdered(from: url) { result[name] = array }
        return result
    }

    /// Reads every array of an `.npz` archive in archive order (the order they were written).
    public static func readOrdered(from url: URL) throws -> [(name: String, array: NPYArray)] {
        let context = SerializationContext(url: url)
        let data = try context.readFile(url)
        return try data.withUnsafeBytes { try decode($0, context: context) }
    }

    /// Decodes an in-memory `.npz` image; `fileName` is used in error messages.
    static func decode(_ data: Data, fileName: String = "<memory>") throws -> [(name: String, array: NPYArray)] {
        try data.withUnsafeBytes { try decode($0, context: SerializationContext(file: fileName, member: nil)) }
    }

    static func decode(_ raw: UnsafeRawBufferPointer,
                       context: SerializationContext) throws -> [(name: String, array: NPYArray)] {
        let zip = ZipReader(raw: raw, context: context)
        var result: [(name: String, array: NPYArray)] = []
        var seen = Set<String>()
        for entry in try zip.centralDirectory() where !entry.name.hasSuffix("/") {
            let name = entry.name.hasSuffix(".npy") ? String(entry.name.dropLast(4)) : entry.name
            guard seen.insert(name).inserted else {
                throw SerializationError(kind: .duplicateMember, file: context.file, member: entry.name,
                                         location: .archiveOffset(entry.centralOffset),
                                         message: "expected unique member names, found a second array named '\(name)'")
            }
            let memberContext = SerializationContext(file: context.file, member: entry.name)
            let array = try zip.withContents(of: entry) { try NPY.decode($0, context: memberContext) }
            result.append((name, array))
        }
        return result
    }

    /// Bytes `[from, from + count)` of the concatenation `first + second`, without building it.
    private static func chunk(of first: [UInt8], then second: [UInt8], from start: Int, count: Int) -> Data {
        var data = Data(capacity: count)
        let end = start + count
        if start < first.count { data.append(contentsOf: first[start..<min(end, first.count)]) }
        if end > first.count {
            data.append(contentsOf: second[max(start - first.count, 0)..<min(end - first.count, second.count)])
        }
        return data
    }
}

// MARK: - Files

extension SerializationContext {
    /// Reads a whole file, reporting failures as ``SerializationError``.
    func readFile(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw self.error(.io, .none, "cannot read file at \(url.path): \(Self.reason(error))")
        }
    }

    /// Runs `body` to fill a fresh temporary file next to `url`, syncs it, and renames it over `url`.
    /// The temporary file is removed if anything fails.
    func writeAtomically(to url: URL, _ body: (URL) throws -> Void) throws {
        let directory = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw error(.io, .none, "cannot write: expected an existing directory at \(directory.path), found none")
        }
        // Same directory, so the rename cannot cross file systems; the name is capped to stay under NAME_MAX.
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent.prefix(128)).\(UUID().uuidString).tmp")
        var renamed = false
        defer { if !renamed { try? FileManager.default.removeItem(at: temporary) } }
        try body(temporary)
        try syncToDisk(temporary)
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            throw error(.io, .none, "cannot rename temporary file '\(temporary.lastPathComponent)' to '\(url.path)': \(reason)")
        }
        renamed = true
        // Make the rename itself durable; failure here is not fatal (some file systems refuse it).
        let directoryDescriptor = open(directory.path, O_RDONLY)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            _ = close(directoryDescriptor)
        }
    }

    /// Flushes a file's contents to stable storage.
    private func syncToDisk(_ url: URL) throws {
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0, fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            if descriptor >= 0 { _ = close(descriptor) }
            throw error(.io, .none, "cannot sync temporary file '\(url.lastPathComponent)': \(reason)")
        }
        _ = close(descriptor)
    }

    /// A short reason for an underlying Foundation or ZIPFoundation error.
    static func reason(_ error: Error) -> String {
        if let cocoa = error as? CocoaError { return cocoa.localizedDescription }
        return String(describing: error)
    }
}

// MARK: - Zip reading

/// One file entry of a zip central directory, sizes and offsets already widened from ZIP64 fields.
private struct ZipEntry {
    var name: String
    var flags: Int
    var method: Int
    var crc32: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    var localHeaderOffset: Int
    var centralOffset: Int
}

/// A bounds-checked reader for the zip structures of an in-memory archive.
private struct ZipReader {
    let raw: UnsafeRawBufferPointer
    let context: SerializationContext

    static let endRecordSignature: UInt64 = 0x0605_4B50
    static let zip64LocatorSignature: UInt64 = 0x0706_4B50
    static let zip64EndRecordSignature: UInt64 = 0x0606_4B50
    static let centralHeaderSignature: UInt64 = 0x0201_4B50
    static let localHeaderSignature: UInt64 = 0x0403_4B50

    private func corrupt(_ offset: Int, _ message: String, member: String? = nil) -> SerializationError {
        SerializationError(kind: .corruptArchive, file: context.file, member: member,
                           location: .archiveOffset(offset), message: message)
    }

    /// A little-endian unsigned integer of `size` bytes at `offset`, or an error naming `what`.
    private func uint(_ offset: Int, _ size: Int, _ what: String, member: String? = nil) throws -> UInt64 {
        guard offset >= 0, size <= raw.count, offset <= raw.count - size else {
            throw corrupt(offset, "expected \(what) (\(size) bytes), but the file ends at byte \(raw.count)", member: member)
        }
        var value: UInt64 = 0
        for index in 0..<size { value |= UInt64(raw[offset + index]) << (8 * UInt64(index)) }
        return value
    }

    /// A non-negative offset or size that must lie within the file.
    private func position(_ value: UInt64, at offset: Int, _ what: String, member: String? = nil) throws -> Int {
        guard let result = Int(exactly: value), result <= raw.count else {
            throw corrupt(offset, "\(what) is \(value), beyond the end of the \(raw.count)-byte file", member: member)
        }
        return result
    }

    private func signature(_ offset: Int, is expected: UInt64, _ what: String, member: String? = nil) throws {
        let found = try uint(offset, 4, what, member: member)
        guard found == expected else {
            let foundBytes = SerializationContext.describeBytes(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + 4]))
            throw corrupt(offset, "expected \(what) signature 'PK\\x0\(expected >> 16 & 0xF)\\x0\(expected >> 24)', found \(foundBytes)",
                          member: member)
        }
    }

    /// Locates the end-of-central-directory record (searching back over a possible comment).
    private func endRecordOffset() throws -> Int {
        let minimum = 22
        var candidate = raw.count - minimum
        let lowest = max(0, raw.count - minimum - 0xFFFF)
        while candidate >= lowest {
            if raw[candidate] == 0x50, raw[candidate + 1] == 0x4B, raw[candidate + 2] == 0x05, raw[candidate + 3] == 0x06,
               candidate + minimum + Int(try uint(candidate + 20, 2, "comment length")) <= raw.count {
                return candidate
            }
            candidate -= 1
        }
        let hint = raw.starts(with: NPY.magic) ? " (it starts like a .npy file; use NPY.read)" : ""
        throw SerializationError(
            kind: .notAZipArchive, file: context.file, location: .archiveOffset(max(0, raw.count - minimum)),
            message: "expected a zip end-of-central-directory record ('PK\\x05\\x06') near the end of the \(raw.count)-byte file, found none; the file is not a zip archive or is truncated; it starts with \(SerializationContext.describeBytes(raw.prefix(8)))\(hint)")
    }

    /// Parses the central directory into its file entries, in archive order.
    func centralDirectory() throws -> [ZipEntry] {
        let end = try endRecordOffset()
        var entryCount = try uint(end + 10, 2, "entry count")
        var directorySize = try uint(end + 12, 4, "central directory size")
        var directoryOffset = try uint(end + 16, 4, "central directory offset")
        let disk = try uint(end + 4, 2, "disk number"), directoryDisk = try uint(end + 6, 2, "disk number")
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            let locator = end - 20
            try signature(locator, is: Self.zip64LocatorSignature, "ZIP64 end-of-central-directory locator")
            let record = try position(try uint(locator + 8, 8, "ZIP64 record offset"), at: locator + 8,
                                      "ZIP64 end-of-central-directory offset")
            try signature(record, is: Self.zip64EndRecordSignature, "ZIP64 end-of-central-directory record")
            entryCount = try uint(record + 32, 8, "ZIP64 entry count")
            directorySize = try uint(record + 40, 8, "ZIP64 central directory size")
            directoryOffset = try uint(record + 48, 8, "ZIP64 central directory offset")
        } else if disk != 0 || directoryDisk != 0 {
            throw SerializationError(kind: .unsupportedArchive, file: context.file, location: .archiveOffset(end + 4),
                                     message: "expected a single-disk archive, found disk number \(disk)")
        }
        let start = try position(directoryOffset, at: end + 16, "central directory offset")
        let size = try position(directorySize, at: end + 12, "central directory size")
        guard size <= raw.count - start else {
            throw corrupt(end + 12, "central directory of \(size) bytes at byte \(start) extends beyond the end of the \(raw.count)-byte file")
        }
        guard entryCount <= UInt64(size / 46) else {
            throw corrupt(end + 10, "entry count is \(entryCount), but a \(size)-byte central directory holds at most \(size / 46) entries")
        }
        var entries: [ZipEntry] = []
        var offset = start
        for _ in 0..<entryCount {
            let entry = try centralEntry(at: offset, directoryEnd: start + size)
            entries.append(entry.entry)
            offset = entry.next
        }
        return entries
    }

    /// Parses one central directory file header.
    private func centralEntry(at offset: Int, directoryEnd: Int) throws -> (entry: ZipEntry, next: Int) {
        try signature(offset, is: Self.centralHeaderSignature, "central directory file header")
        let nameLength = Int(try uint(offset + 28, 2, "file name length"))
        let extraLength = Int(try uint(offset + 30, 2, "extra field length"))
        let commentLength = Int(try uint(offset + 32, 2, "file comment length"))
        let next = offset + 46 + nameLength + extraLength + commentLength
        guard next <= directoryEnd else {
            throw corrupt(offset, "central directory file header of \(next - offset) bytes extends beyond the central directory end at byte \(directoryEnd)")
        }
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[offset + 46..<offset + 46 + nameLength]), as: UTF8.self)
        var uncompressed = try uint(offset + 24, 4, "uncompressed size")
        var compressed = try uint(offset + 20, 4, "compressed size")
        var localOffset = try uint(offset + 42, 4, "local header offset")
        // ZIP64 extended information: 8-byte values for exactly the fields saturated above, in this order.
        var extra = offset + 46 + nameLength
        let extraEnd = extra + extraLength
        while extra + 4 <= extraEnd {
            let id = try uint(extra, 2, "extra field id"), length = Int(try uint(extra + 2, 2, "extra field length"))
            guard extra + 4 + length <= extraEnd else {
                throw corrupt(extra, "extra field of \(length) bytes extends beyond the file header", member: name)
            }
            if id == 1 {
                var field = extra + 4
                let fieldEnd = field + length
                func widen(_ value: inout UInt64) throws {
                    guard value == 0xFFFF_FFFF else { return }
                    guard field + 8 <= fieldEnd else {
                        throw corrupt(field, "ZIP64 extra field is \(length) bytes, too short for the sizes it must hold", member: name)
                    }
                    value = try uint(field, 8, "ZIP64 value")
                    field += 8
                }
                try widen(&uncompressed)
                try widen(&compressed)
                try widen(&localOffset)
            }
            extra += 4 + length
        }
        let entry = ZipEntry(
            name: name,
            flags: Int(try uint(offset + 8, 2, "flags")),
            method: Int(try uint(offset + 10, 2, "compression method")),
            crc32: UInt32(try uint(offset + 16, 4, "CRC-32")),
            compressedSize: try position(compressed, at: offset + 20, "compressed size", member: name),
            uncompressedSize: try uncompressedLimit(uncompressed, at: offset + 24, member: name),
            localHeaderOffset: try position(localOffset, at: offset + 42, "local header offset", member: name),
            centralOffset: offset)
        return (entry, next)
    }

    /// Converts an uncompressed size to `Int`; plausibility against the compressed size is checked when inflating.
    private func uncompressedLimit(_ value: UInt64, at offset: Int, member: String) throws -> Int {
        guard let size = Int(exactly: value) else {
            throw corrupt(offset, "uncompressed size is \(value), expected a value below 2^63", member: member)
        }
        return size
    }

    /// Calls `body` with the uncompressed, CRC-checked contents of `entry`.
    func withContents<T>(of entry: ZipEntry, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        let member = entry.name
        let local = entry.localHeaderOffset
        try signature(local, is: Self.localHeaderSignature, "local file header", member: member)
        let nameLength = Int(try uint(local + 26, 2, "file name length", member: member))
        let extraLength = Int(try uint(local + 28, 2, "extra field length", member: member))
        let dataStart = local + 30 + nameLength + extraLength
        guard dataStart <= raw.count, entry.compressedSize <= raw.count - dataStart else {
            throw corrupt(local, "member data of \(entry.compressedSize) bytes starting at byte \(dataStart) extends beyond the end of the \(raw.count)-byte file", member: member)
        }
        guard entry.flags & 1 == 0 else {
            throw SerializationError(kind: .unsupportedArchive, file: context.file, member: member,
                                     location: .archiveOffset(entry.centralOffset + 8),
                                     message: "member is encrypted, expected an unencrypted member")
        }
        let stored = UnsafeRawBufferPointer(rebasing: raw[dataStart..<dataStart + entry.compressedSize])
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw corrupt(entry.centralOffset + 20, "stored member has compressed size \(entry.compressedSize) but uncompressed size \(entry.uncompressedSize), expected them equal", member: member)
            }
            try checkCRC(ZipCRC.checksum(stored), entry)
            return try body(stored)
        case 8:
            let bytes = try inflate(stored, entry: entry, dataStart: dataStart)
            return try bytes.withUnsafeBytes { contents in
                try checkCRC(ZipCRC.checksum(contents), entry)
                return try body(contents)
            }
        default:
            throw SerializationError(kind: .unsupportedArchive, file: context.file, member: member,
                                     location: .archiveOffset(entry.centralOffset + 10),
                                     message: "compression method is \(entry.method), expected 0 (stored) or 8 (deflate)")
        }
    }

    private func checkCRC(_ crc: UInt32, _ entry: ZipEntry) throws {
        guard crc == entry.crc32 else {
            throw corrupt(entry.centralOffset + 16, "CRC-32 of the member data is 0x\(String(crc, radix: 16)), expected 0x\(String(entry.crc32, radix: 16)) from the central directory", member: entry.name)
        }
    }

    private enum InflateFailure: Error { case truncated, tooLong }

    /// Inflates a raw deflate stream, refusing to produce more than the declared uncompressed size.
    private func inflate(_ compressed: UnsafeRawBufferPointer, entry: ZipEntry,
                         dataStart: Int) throws -> [UInt8] {
        let expected = entry.uncompressedSize
        // Deflate expands by at most 1032:1; a larger declared size is corrupt, and must not be allocated.
        guard expected / 1032 <= compressed.count else {
            throw corrupt(entry.centralOffset + 24, "uncompressed size is \(expected), expected at most 1032 times the compressed size \(compressed.count)", member: entry.name)
        }
        let bufferSize = 1 << 16
        var output: [UInt8] = []
        output.reserveCapacity(expected)
        var emptyRequests = 0
        do {
            _ = try Data.decompress(size: Int64(compressed.count), bufferSize: bufferSize, skipCRC32: true,
                                      provider: { position, size in
                let start = Int(position)
                guard start < compressed.count else {
                    // Apple's decoder asks for empty input while it drains output; anything else is a truncated stream.
                    guard size == 0, emptyRequests <= expected / bufferSize + 4 else { throw InflateFailure.truncated }
                    emptyRequests += 1
                    return Data()
                }
                var chunk = Data(UnsafeRawBufferPointer(rebasing: compressed[start..<min(start + size, compressed.count)]))
                // ZIPFoundation's zlib path hands `size` bytes to inflate regardless of the chunk's length.
                if chunk.count < size { chunk.append(Data(count: size - chunk.count)) }
                return chunk
            }, consumer: { data in
                guard data.count <= expected - output.count else { throw InflateFailure.tooLong }
                output.append(contentsOf: data)
            })
        } catch InflateFailure.truncated {
            throw corrupt(dataStart, "deflate stream of \(compressed.count) bytes ends before its end-of-stream marker", member: entry.name)
        } catch InflateFailure.tooLong {
            throw corrupt(dataStart, "deflate stream inflates to more than the \(expected) bytes the central directory declares", member: entry.name)
        } catch {
            throw corrupt(dataStart, "deflate stream is corrupt, expected valid deflate data (\(error))", member: entry.name)
        }
        guard output.count == expected else {
            throw corrupt(dataStart, "deflate stream inflates to \(output.count) bytes, expected \(expected) bytes from the central directory", member: entry.name)
        }
        return output
    }
}

/// CRC-32 (IEEE 802.3, as zip uses), slicing-by-8: several times faster than a bytewise table.
private enum ZipCRC {
    /// Eight 256-entry tables; table k advances a byte's contribution by k further bytes.
    static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
            tables[byte] = crc
        }
        for byte in 0..<256 {
            for k in 1..<8 {
                let previous = tables[(k - 1) * 256 + byte]
                tables[k * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        tables.withUnsafeBufferPointer { table in
            var index = 0
            while index + 8 <= bytes.count {
                let low = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self)) ^ crc
                let high = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self))
                crc = table[7 * 256 + Int(low & 0xFF)] ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)] ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)] ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[256 + Int((high >> 16) & 0xFF)] ^ table[Int(high >> 24)]
                index += 8
            }
            while index < bytes.count {
                crc = (crc >> 8) ^ table[Int((crc ^ UInt32(bytes[index])) & 0xFF)]
                index += 1
            }
        }
        return ~crc
    }
}
