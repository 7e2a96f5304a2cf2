import CZlib
import Foundation

/// gzip (RFC 1952) through zlib: one-shot decompression and compression of byte arrays, and
/// ``GzipReader`` for streaming large files.
///
/// Errors are ``DatasetError``s naming the file, the byte offset in the compressed data and
/// what was wrong (not gzip, corrupt, truncated, failed check sum).
public enum Gzip {
    /// The two bytes every gzip member starts with.
    public static let magic: [UInt8] = [0x1F, 0x8B]

    /// Whether `bytes` starts with the gzip magic number.
    public static func isGzip<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        bytes.starts(with: magic)
    }

    /// Whether the file at `url` starts with the gzip magic number (false when it cannot be read).
    public static func isGzip(fileAt url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 2)) ?? Data()
        return isGzip(head)
    }

    /// Decompresses all gzip members of `data`; `file` names the data in errors.
    public static func decompress(_ data: [UInt8], file: String = "<memory>") throws -> [UInt8] {
        try GzipReader(bytes: data, name: file).readAll()
    }

    /// Decompresses the gzip file at `url`.
    public static func decompress(contentsOf url: URL) throws -> [UInt8] {
        try GzipReader(url: url).readAll()
    }

    /// Compresses `data` into a single gzip member (`level` 0–9, zlib's default 6).
    public static func compress(_ data: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        let status = deflateInit2_(&stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed with zlib status \(status)")
        defer { deflateEnd(&stream) }
        var input = data
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))) + 32)
        let produced: Int = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                let result = deflate(&stream, Z_FINISH)
                precondition(result == Z_STREAM_END, "deflate did not finish (zlib status \(result))")
                let count = outBuffer.count - Int(stream.avail_out)
                stream.next_in = nil
                stream.next_out = nil
                return count
            }
        }
        return Array(output[..<produced])
    }
}

/// Streaming gzip decompression of a file or byte array through zlib's `inflate`.
///
/// Reads concatenated gzip members as one stream (like `gunzip`) and accepts zero padding
/// after the last member; anything else after it, a corrupt or truncated member, or a failed
/// CRC-32/length check is a ``DatasetError`` naming the file and compressed byte offset.
public final class GzipReader {
    /// The file name used in errors.
    public let file: String

    private var stream = z_stream()
    private let inputCapacity = 1 << 16
    private let input: UnsafeMutablePointer<UInt8>
    /// Fills the buffer with up to `capacity` more compressed bytes; 0 at the end.
    private let refill: (UnsafeMutablePointer<UInt8>, Int) throws -> Int
    private let close: () -> Void
    /// Compressed bytes taken from the source so far.
    private var sourceBytes = 0
    private var started = false
    private var finished = false
    private var decompressedBytes = 0

    /// Opens the gzip file at `url`.
    public convenience init(url: URL) throws {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw DatasetError(file: url.path, location: "open", message: "cannot open file: \(error.localizedDescription)")
        }
        let path = url.path
        self.init(name: path, refill: { buffer, capacity in
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: capacity)
            } catch {
                throw DatasetError(file: path, location: "read", message: "read failed: \(error.localizedDescription)")
            }
            guard let chunk, !chunk.isEmpty else { return 0 }
            chunk.copyBytes(to: buffer, count: chunk.count)
            return chunk.count
        }, close: { try? handle.close() })
    }

    /// Decompresses `bytes` held in memory; `name` is used in errors.
    public convenience init(bytes: [UInt8], name: String = "<memory>") {
        var position = 0
        self.init(name: name, refill: { buffer, capacity in
            let count = min(capacity, bytes.count - position)
            bytes.withUnsafeBufferPointer { source in
                if count > 0 { buffer.update(from: source.baseAddress! + position, count: count) }
            }
            position += count
            return count
        }, close: {})
    }

    private init(name: String, refill: @escaping (UnsafeMutablePointer<UInt8>, Int) throws -> Int, close: @escaping () -> Void) {
        self.file = name
        self.refill = refill
        self.close = close
        input = .allocate(capacity: inputCapacity)
        let status = inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "inflateInit2 failed with zlib status \(status)")
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
        close()
    }

    /// Byte offset in the compressed data of the next byte zlib will read.
    public var compressedOffset: Int { sourceBytes - Int(stream.avail_in) }

    /// Number of decompressed bytes returned so far.
    public var offset: Int { decompressedBytes }

    /// Refills the input buffer when empty; returns false at the end of the source.
    private func fillInput() throws -> Bool {
        if stream.avail_in > 0 { return true }
        let count = try refill(input, inputCapacity)
        stream.next_in = input
        stream.avail_in = uInt(count)
        sourceBytes += count
        return count > 0
    }

    private func error(_ message: String) -> DatasetError {
        DatasetError(file: file, location: "compressed byte offset \(compressedOffset)", message: message)
    }

    /// Checks the magic number of the first member.
    private func start() throws {
        started = true
        guard try fillInput() else { throw error("empty file, expected gzip data (magic bytes 1f 8b)") }
        var head = [input[0]]
        if stream.avail_in > 1 { head.append(input[1]) }
        guard head == Gzip.magic else {
            let found = head.map { String(format: "%02x", $0) }.joined(separator: " ")
            throw DatasetError(file: file, location: "byte offset 0 (gzip magic)",
                               message: "not gzip data: expected magic bytes 1f 8b, found \(found)")
        }
    }

    /// After a member ends: starts the next member, or accepts zero padding up to the end.
    private func afterMemberEnd() throws {
        while try fillInput() {
            let next = stream.next_in![0]
            if next == Gzip.magic[0] {
                inflateReset(&stream)
                return
            }
            guard next == 0 else {
                throw error("unexpected byte \(String(format: "0x%02x", next)) after the end of the gzip stream")
            }
            stream.next_in += 1
            stream.avail_in -= 1
        }
        finished = true
    }

    /// Up to `count` decompressed bytes; fewer only at the end of the data (empty once finished).
    public func read(upTo count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        var output = [UInt8](repeating: 0, count: count)
        let produced = try output.withUnsafeMutableBufferPointer { try read(into: $0) }
        output.removeLast(count - produced)
        return output
    }

    /// Fills `buffer` with decompressed bytes and returns how many were written (less than its
    /// size only at the end of the data).
    public func read(into buffer: UnsafeMutableBufferPointer<UInt8>) throws -> Int {
        if !started { try start() }
        var produced = 0
        while produced < buffer.count && !finished {
            if stream.avail_in == 0 {
                guard try fillInput() else {
                    throw error("truncated gzip data: the compressed stream ends before its end-of-stream marker "
                                + "(after \(decompressedBytes + produced) decompressed bytes)")
                }
            }
            stream.next_out = buffer.baseAddress! + produced
            stream.avail_out = uInt(buffer.count - produced)
            let status = inflate(&stream, Z_NO_FLUSH)
            let written = buffer.count - produced - Int(stream.avail_out)
            produced += written
            stream.next_out = nil
            switch status {
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress possible: either more input is needed (loop refills) or output is full.
                continue
            case Z_STREAM_END:
                try afterMemberEnd()
            case Z_DATA_ERROR:
                let reason = stream.msg.map { String(cString: $0) } ?? "invalid data"
                throw error("corrupt gzip data (\(reason))")
            case Z_MEM_ERROR:
                throw error("zlib ran out of memory")
            default:
                throw error("zlib inflate failed with status \(status)")
            }
        }
        decompressedBytes += produced
        return produced
    }

    /// All remaining decompressed bytes.
    public func readAll() throws -> [UInt8] {
        var result = [UInt8]()
        while true {
            let chunk = try read(upTo: 1 << 20)
            if chunk.isEmpty { return result }
            result += chunk
        }
    }
}
