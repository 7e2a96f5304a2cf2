import Foundation

/// An error thrown while reading or writing `.npy` and `.npz` files.
///
/// Reading never traps on malformed input: every problem (a truncated file, a file that is not a zip
/// archive, a bad magic string, a header that runs past the end of the file, data shorter than the
/// shape implies, an absurd shape, ...) is reported as a `SerializationError`.
///
/// The ``description`` always names the file, the archive member when there is one, where the problem
/// is (a byte offset or a header field) and what was expected versus what was found, for example:
///
///     model.npz: member 'conv1.W.npy': header field 'descr' is '<c8', expected one of <f4, <f8, ...
public struct SerializationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The broad category of a failure, for callers that want to react programmatically.
    public enum Kind: String, Sendable {
        /// The file could not be opened, read, written, synced or renamed.
        case io
        /// The file is not a zip archive (no end-of-central-directory record).
        case notAZipArchive
        /// The zip structure is damaged: bad signature, offsets out of range, CRC mismatch, bad deflate stream.
        case corruptArchive
        /// The archive uses a zip feature this codec does not implement (encryption, other compression methods).
        case unsupportedArchive
        /// The data does not start with the `\x93NUMPY` magic string.
        case badMagic
        /// The `.npy` format version is not 1.0, 2.0 or 3.0.
        case unsupportedVersion
        /// The header is not a well-formed Python dict literal, or a required key has the wrong type.
        case malformedHeader
        /// The header's `descr` names a dtype this codec does not support.
        case unsupportedDType
        /// The header's `shape` is negative, not integral, or its element count overflows.
        case invalidShape
        /// The data ends before the preamble, header or array data does.
        case truncated
        /// Bytes follow the array data that the shape does not account for.
        case trailingData
        /// An ``NPYArray`` handed to a writer is inconsistent (byte count does not match dtype and shape).
        case invalidArray
        /// Two archive members, or two arrays handed to ``NPZ/write(_:to:compressed:)``, have the same name.
        case duplicateMember
    }

    /// Where in the file a problem was found.
    public enum Location: Equatable, Sendable {
        /// No position applies (for example, the file could not be opened).
        case none
        /// A byte offset into the `.npy` data: into the file for a plain `.npy` file,
        /// into the member's uncompressed contents for an `.npz` member.
        case byteOffset(Int)
        /// A byte offset into the zip archive file itself.
        case archiveOffset(Int)
        /// A field of the `.npy` header dict, such as `descr`, `fortran_order` or `shape`.
        case headerField(String)
    }

    /// What went wrong, broadly.
    public var kind: Kind
    /// The file name (last path component), or `<memory>` for in-memory data.
    public var file: String
    /// The archive member name (for example `conv1.W.npy`), when the problem concerns one member.
    public var member: String?
    /// The byte offset or header field where the problem was found.
    public var location: Location
    /// What was expected and what was found.
    public var message: String

    /// Creates an error; prefer the specific, descriptive `message` texts used by the codec.
    public init(kind: Kind, file: String, member: String? = nil, location: Location = .none, message: String) {
        self.kind = kind
        self.file = file
        self.member = member
        self.location = location
        self.message = message
    }

    /// A one-line human-readable description naming the file, member, location, expectation and finding.
    public var description: String {
        var parts = [file]
        if let member { parts.append("member '\(member)'") }
        switch location {
        case .none: parts.append(message)
        case .byteOffset(let offset): parts.append("byte offset \(offset): \(message)")
        case .archiveOffset(let offset): parts.append("archive byte offset \(offset): \(message)")
        case .headerField(let field): parts.append("header field '\(field)' \(message)")
        }
        return parts.joined(separator: ": ")
    }
}

/// The file and member an error should name; threaded through the decoders.
struct SerializationContext: Sendable {
    var file: String
    var member: String?

    /// The context for data that did not come from a file.
    static let memory = SerializationContext(file: "<memory>", member: nil)

    /// The context for a file URL (named by its last path component).
    init(url: URL, member: String? = nil) {
        self.file = url.lastPathComponent
        self.member = member
    }

    init(file: String, member: String?) {
        self.file = file
        self.member = member
    }

    func error(_ kind: SerializationError.Kind, _ location: SerializationError.Location,
               _ message: String) -> SerializationError {
        SerializationError(kind: kind, file: file, member: member, location: location, message: message)
    }

    /// Renders untrusted bytes for an error message: printable ASCII as is, the rest as `\xNN`, capped in length.
    static func describeBytes<C: Collection>(_ bytes: C, limit: Int = 16) -> String where C.Element == UInt8 {
        var text = ""
        for byte in bytes.prefix(limit) {
            if byte >= 0x20 && byte < 0x7F && byte != 0x27 && byte != 0x5C {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            }
        }
        return "'" + text + "'" + (bytes.count > limit ? "..." : "")
    }
}
