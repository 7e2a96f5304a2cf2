import Foundation

/// Encoder and decoder for single NumPy `.npy` arrays.
///
/// Layout (see `numpy.lib.format`): the magic `\x93NUMPY`, a major and minor version byte, a
/// little-endian header length (2 bytes for version 1.0, 4 bytes for 2.0 and 3.0), then an ASCII
/// (Latin-1 for 1.0/2.0, UTF-8 for 3.0) Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and a final `\n`
/// so that the data starts on a 64-byte boundary, then the raw array data.
///
/// Reading accepts versions 1.0, 2.0 and 3.0; the dtypes of ``NPYDType`` in either byte order
/// (`<`, `>`, `=`, `|`), big-endian data being byte-swapped; and `fortran_order: True`, whose data
/// is transposed into C order. Writing produces the same bytes `numpy.save` does: version 1.0, or
/// 2.0 when the header does not fit in 65535 bytes.
public enum NPY {
    /// The six bytes every `.npy` file starts with.
    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// Data starts on a multiple of this many bytes, as NumPy requires for memory mapping.
    static let alignment = 64

    /// Serializes an array into the bytes of a `.npy` file.
    /// - Throws: ``SerializationError`` (`invalidArray`) when `bytes` does not match `dtype` and `shape`.
    public static func encode(_ array: NPYArray) throws -> [UInt8] {
        try encodeHeader(array, context: .memory) + array.bytes
    }

    /// Parses the bytes of a `.npy` file.
    /// - Throws: ``SerializationError`` describing the first problem found; never traps on bad input.
    public static func decode(_ bytes: [UInt8]) throws -> NPYArray {
        try bytes.withUnsafeBytes { try decode($0, context: .memory) }
    }

    /// Parses the contents of a `.npy` file held in `data`.
    public static func decode(_ data: Data) throws -> NPYArray {
        try data.withUnsafeBytes { try decode($0, context: .memory) }
    }

    /// Reads a `.npy` file.
    /// - Throws: ``SerializationError`` naming the file when it cannot be read or is malformed.
    public static func read(from url: URL) throws -> NPYArray {
        let context = SerializationContext(url: url)
        let data = try context.readFile(url)
        return try data.withUnsafeBytes { try decode($0, context: context) }
    }

    /// Writes a `.npy` file atomically: the data goes to a temporary file in the same directory,
    /// which is synced and then renamed over `url`.
    public static func write(_ array: NPYArray, to url: URL) throws {
        let context = SerializationContext(url: url)
        let header = try encodeHeader(array, context: context)
        try context.writeAtomically(to: url) { temporary in
            var data = Data(header)
            data.append(contentsOf: array.bytes)
            do {
                try data.write(to: temporary)
            } catch {
                throw context.error(.io, .none, "cannot write temporary file '\(temporary.lastPathComponent)': \(SerializationContext.reason(error))")
            }
        }
    }

    // MARK: - Encoding

    /// Checks that `array` is self-consistent, naming it in the error when it is not.
    static func validate(_ array: NPYArray, context: SerializationContext) throws {
        guard let count = NPYArray.elementCount(of: array.shape) else {
            throw context.error(.invalidArray, .headerField("shape"),
                                "is \(shapeLiteral(array.shape)), expected non-negative dimensions whose product fits in Int")
        }
        let (needed, overflow) = count.multipliedReportingOverflow(by: array.dtype.byteSize)
        guard !overflow, needed == array.bytes.count else {
            throw context.error(.invalidArray, .none,
                                "array bytes hold \(array.bytes.count) bytes, expected \(overflow ? "more than Int.max" : String(needed)) bytes for shape \(shapeLiteral(array.shape)) of \(array.dtype.rawValue)")
        }
    }

    /// The preamble and padded header dict, byte-for-byte what `numpy.save` writes for the same array.
    static func encodeHeader(_ array: NPYArray, context: SerializationContext) throws -> [UInt8] {
        try validate(array, context: context)
        var dict = "{'descr': '\(array.dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeLiteral(array.shape)), }"
        // NumPy leaves room to grow the first axis in place (GROWTH_AXIS_MAX_DIGITS = 21).
        if let first = array.shape.first {
            dict += String(repeating: " ", count: max(0, 21 - String(first).utf8.count))
        }
        let text = Array(dict.utf8)  // ASCII only, so valid for every format version
        for (major, lengthSize) in [(UInt8(1), 2), (UInt8(2), 4)] {
            let unpadded = magic.count + 2 + lengthSize + text.count + 1  // +1 for the final "\n"
            let padding = alignment - unpadded % alignment                // 1...64, as NumPy does
            let headerLength = text.count + padding + 1
            guard lengthSize == 4 || headerLength <= Int(UInt16.max) else { continue }
            var out = magic + [major, 0]
            out.reserveCapacity(unpadded + padding)
            for index in 0..<lengthSize { out.append(UInt8(truncatingIfNeeded: headerLength >> (8 * index))) }
            out += text
            out += [UInt8](repeating: 0x20, count: padding)
            out.append(0x0A)
            return out
        }
        throw context.error(.invalidArray, .headerField("shape"), "makes a header longer than 4 GiB")
    }

    /// The Python repr of a shape tuple: `()`, `(3,)`, `(2, 3)`.
    static func shapeLiteral(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    // MARK: - Decoding

    /// Parses one `.npy` image; error offsets are relative to the start of `raw`.
    static func decode(_ raw: UnsafeRawBufferPointer, context: SerializationContext) throws -> NPYArray {
        let total = raw.count
        let magicFound = raw.prefix(magic.count)
        guard magicFound.elementsEqual(magic.prefix(magicFound.count)) else {
            throw context.error(.badMagic, .byteOffset(0),
                                "expected magic '\\x93NUMPY', found \(SerializationContext.describeBytes(raw.prefix(8)))")
        }
        guard total >= magic.count + 2 else {
            throw context.error(.truncated, .byteOffset(total),
                                "data ends after \(total) bytes, expected at least \(magic.count + 2) bytes of magic and version")
        }
        let major = raw[6], minor = raw[7]
        guard [1, 2, 3].contains(major), minor == 0 else {
            throw context.error(.unsupportedVersion, .byteOffset(6),
                                "format version is \(major).\(minor), expected 1.0, 2.0 or 3.0")
        }
        let lengthSize = major == 1 ? 2 : 4
        let headerStart = 8 + lengthSize
        guard total >= headerStart else {
            throw context.error(.truncated, .byteOffset(8),
                                "data ends after \(total) bytes, expected a \(lengthSize)-byte header length field")
        }
        var headerLength = 0
        for index in 0..<lengthSize { headerLength |= Int(raw[8 + index]) << (8 * index) }
        let dataStart = headerStart + headerLength
        guard dataStart <= total else {
            throw context.error(.truncated, .byteOffset(8),
                                "header length is \(headerLength) bytes, extending to byte \(dataStart), but the data is only \(total) bytes long")
        }
        let header = UnsafeRawBufferPointer(rebasing: raw[headerStart..<dataStart])
        let fields = try HeaderFields(header, baseOffset: headerStart, utf8: major == 3, context: context)

        guard let count = NPYArray.elementCount(of: fields.shape),
              case let (byteCount, overflow) = count.multipliedReportingOverflow(by: fields.dtype.byteSize),
              !overflow else {
            throw context.error(.invalidShape, .headerField("shape"),
                                "is \(shapeLiteral(fields.shape)), whose element count overflows")
        }
        let available = total - dataStart
        guard available >= byteCount else {
            throw context.error(.truncated, .byteOffset(dataStart),
                                "data section holds \(available) bytes, expected \(byteCount) bytes for shape \(shapeLiteral(fields.shape)) of \(fields.descr)")
        }
        guard available == byteCount else {
            throw context.error(.trailingData, .byteOffset(dataStart + byteCount),
                                "expected end of data after \(byteCount) bytes for shape \(shapeLiteral(fields.shape)) of \(fields.descr), found \(available - byteCount) more bytes")
        }
        var bytes = [UInt8](UnsafeRawBufferPointer(rebasing: raw[dataStart..<total]))
        if fields.byteSwapped { swapBytes(&bytes, elementSize: fields.dtype.byteSize) }
        if fields.fortranOrder && fields.shape.count > 1 {
            bytes = fortranToC(bytes, shape: fields.shape, elementSize: fields.dtype.byteSize)
        }
        return NPYArray(dtype: fields.dtype, shape: fields.shape, bytes: bytes)
    }

    /// Reverses the bytes of every `elementSize`-byte element in place.
    static func swapBytes(_ bytes: inout [UInt8], elementSize: Int) {
        guard elementSize > 1 else { return }
        bytes.withUnsafeMutableBufferPointer { buffer in
            var start = 0
            while start + elementSize <= buffer.count {
                var low = start, high = start + elementSize - 1
                while low < high { buffer.swapAt(low, high); low += 1; high -= 1 }
                start += elementSize
            }
        }
    }

    /// Reorders column-major (Fortran) element data into row-major (C) order.
    static func fortranToC(_ source: [UInt8], shape: [Int], elementSize: Int) -> [UInt8] {
        let count = source.count / elementSize
        guard count > 0 else { return source }
        var fortranStrides = [Int](repeating: elementSize, count: shape.count)
        for axis in 1..<shape.count { fortranStrides[axis] = fortranStrides[axis - 1] * shape[axis - 1] }
        var result = [UInt8](repeating: 0, count: source.count)
        var index = [Int](repeating: 0, count: shape.count)  // C-order multi-index of the next element
        var offset = 0                                       // its byte offset in the Fortran data
        source.withUnsafeBytes { src in
            result.withUnsafeMutableBytes { dst in
                for element in 0..<count {
                    dst.baseAddress!.advanced(by: element * elementSize)
                        .copyMemory(from: src.baseAddress!.advanced(by: offset), byteCount: elementSize)
                    var axis = shape.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        offset += fortranStrides[axis]
                        if index[axis] < shape[axis] { break }
                        offset -= fortranStrides[axis] * index[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return result
    }
}

// MARK: - Header parsing

/// The validated contents of a `.npy` header dict.
private struct HeaderFields {
    var dtype: NPYDType
    var descr: String
    var byteSwapped: Bool
    var fortranOrder: Bool
    var shape: [Int]

    static let supportedList = "<f4, <f8, <f2, <i4, <i8, |u1, |b1 (also big-endian >f4, >f8, >f2, >i4, >i8)"

    init(_ header: UnsafeRawBufferPointer, baseOffset: Int, utf8: Bool, context: SerializationContext) throws {
        var parser = PyLiteralParser(bytes: header, baseOffset: baseOffset, utf8: utf8, context: context)
        let value = try parser.parseHeader()
        guard case .dict(let entries) = value else {
            throw context.error(.malformedHeader, .byteOffset(baseOffset),
                                "header is \(value.repr), expected a dict literal")
        }
        func field(_ name: String) throws -> PyValue {
            guard let value = entries.last(where: { $0.key == name })?.value else {
                let keys = entries.map { "'\($0.key)'" }.joined(separator: ", ")
                throw context.error(.malformedHeader, .headerField(name),
                                    "is missing, expected keys 'descr', 'fortran_order', 'shape', found [\(keys)]")
            }
            return value
        }
        guard case .string(let descr) = try field("descr") else {
            throw context.error(.unsupportedDType, .headerField("descr"),
                                "is \(try field("descr").repr) (a structured or non-string dtype), expected one of \(Self.supportedList)")
        }
        guard let (dtype, swapped) = Self.resolve(descr) else {
            throw context.error(.unsupportedDType, .headerField("descr"),
                                "is \(PyValue.string(descr).repr), expected one of \(Self.supportedList)")
        }
        guard case .bool(let fortranOrder) = try field("fortran_order") else {
            throw context.error(.malformedHeader, .headerField("fortran_order"),
                                "is \(try field("fortran_order").repr), expected True or False")
        }
        let shapeValue = try field("shape")
        let items: [PyValue]
        switch shapeValue {
        case .tuple(let values), .list(let values): items = values
        default:
            throw context.error(.invalidShape, .headerField("shape"),
                                "is \(shapeValue.repr), expected a tuple of non-negative integers")
        }
        var shape: [Int] = []
        for item in items {
            guard case .int(let dim) = item, dim >= 0 else {
                throw context.error(.invalidShape, .headerField("shape"),
                                    "is \(shapeValue.repr), expected a tuple of non-negative integers")
            }
            shape.append(dim)
        }
        self.init(dtype: dtype, descr: descr, byteSwapped: swapped, fortranOrder: fortranOrder, shape: shape)
    }

    private init(dtype: NPYDType, descr: String, byteSwapped: Bool, fortranOrder: Bool, shape: [Int]) {
        self.dtype = dtype
        self.descr = descr
        self.byteSwapped = byteSwapped
        self.fortranOrder = fortranOrder
        self.shape = shape
    }

    /// Maps a descr such as `>f4` to a dtype and whether its data must be byte-swapped to little-endian.
    static func resolve(_ descr: String) -> (NPYDType, Bool)? {
        guard descr.count == 3, let order = descr.first, "<>=|".contains(order) else { return nil }
        let kind = descr.dropFirst()
        let dtype: NPYDType
        switch kind {
        case "f4": dtype = .float32
        case "f8": dtype = .float64
        case "f2": dtype = .float16
        case "i4": dtype = .int32
        case "i8": dtype = .int64
        case "u1": dtype = .uint8
        case "b1": dtype = .bool
        default: return nil
        }
        let hostIsBigEndian = 1.bigEndian == 1
        let fileIsBigEndian: Bool
        switch order {
        case ">": fileIsBigEndian = true
        case "<": fileIsBigEndian = false
        default: fileIsBigEndian = hostIsBigEndian  // '=' and '|' mean native order
        }
        return (dtype, fileIsBigEndian && dtype.byteSize > 1)
    }
}

/// The subset of Python literals that appears in `.npy` headers.
private indirect enum PyValue {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PyValue])
    case list([PyValue])
    case dict([(key: String, value: PyValue)])

    /// A Python-like rendering for error messages, truncated when long.
    var repr: String {
        let text: String
        switch self {
        case .string(let s):
            text = "'" + s.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F
                ? String(Character($0)) : "\\u{\(String($0.value, radix: 16))}" }.joined() + "'"
        case .int(let i): text = String(i)
        case .bool(let b): text = b ? "True" : "False"
        case .none: text = "None"
        case .tuple(let items):
            text = items.count == 1 ? "(\(items[0].repr),)" : "(" + items.map(\.repr).joined(separator: ", ") + ")"
        case .list(let items): text = "[" + items.map(\.repr).joined(separator: ", ") + "]"
        case .dict(let entries):
            text = "{" + entries.map { "'\($0.key)': \($0.value.repr)" }.joined(separator: ", ") + "}"
        }
        return text.count > 80 ? String(text.prefix(77)) + "..." : text
    }
}

/// A recursive-descent parser for the Python dict literal of a `.npy` header.
private struct PyLiteralParser {
    let bytes: UnsafeRawBufferPointer
    let baseOffset: Int
    let utf8: Bool
    let context: SerializationContext
    var position = 0
    var depth = 0

    static let maxDepth = 16

    init(bytes: UnsafeRawBufferPointer, baseOffset: Int, utf8: Bool, context: SerializationContext) {
        self.bytes = bytes
        self.baseOffset = baseOffset
        self.utf8 = utf8
        self.context = context
    }

    /// Parses one value followed only by whitespace (NumPy pads with spaces and a final newline).
    mutating func parseHeader() throws -> PyValue {
        let value = try parseValue()
        skipWhitespace()
        guard position == bytes.count else { throw unexpected("end of header") }
        return value
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private func unexpected(_ expected: String) -> SerializationError {
        let found = position < bytes.count
            ? SerializationContext.describeBytes(UnsafeRawBufferPointer(rebasing: bytes[position...]), limit: 12)
            : "end of header"
        return context.error(.malformedHeader, .byteOffset(baseOffset + position),
                             "header dict is malformed: expected \(expected), found \(found)")
    }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 || byte == 0x00 {
            position += 1
        }
    }

    private mutating func expect(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard current == byte else { return false }
        position += 1
        return true
    }

    private mutating func parseValue() throws -> PyValue {
        skipWhitespace()
        guard let byte = current else { throw unexpected("a value") }
        switch byte {
        case UInt8(ascii: "{"): return try nested { try $0.parseDict() }
        case UInt8(ascii: "("): return try nested { try $0.parseSequence(close: UInt8(ascii: ")"), isTuple: true) }
        case UInt8(ascii: "["): return try nested { try $0.parseSequence(close: UInt8(ascii: "]"), isTuple: false) }
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .int(try parseInt())
        default:
            for (word, value) in [("True", PyValue.bool(true)), ("False", .bool(false)), ("None", .none)]
            where bytes[position...].starts(with: word.utf8) {
                position += word.utf8.count
                return value
            }
            throw unexpected("a string, number, True, False, None, dict, tuple or list")
        }
    }

    private mutating func nested(_ body: (inout PyLiteralParser) throws -> PyValue) throws -> PyValue {
        guard depth < Self.maxDepth else { throw unexpected("at most \(Self.maxDepth) levels of nesting") }
        depth += 1
        defer { depth -= 1 }
        position += 1  // the opening bracket
        return try body(&self)
    }

    private mutating func parseDict() throws -> PyValue {
        var entries: [(key: String, value: PyValue)] = []
        while true {
            if expect(UInt8(ascii: "}")) { return .dict(entries) }
            skipWhitespace()
            guard current == UInt8(ascii: "'") || current == UInt8(ascii: "\"") else {
                throw unexpected("a quoted key or '}'")
            }
            let key = try parseString()
            guard expect(UInt8(ascii: ":")) else { throw unexpected("':' after key '\(key)'") }
            entries.append((key, try parseValue()))
            if expect(UInt8(ascii: ",")) { continue }
            guard expect(UInt8(ascii: "}")) else { throw unexpected("',' or '}'") }
            return .dict(entries)
        }
    }

    private mutating func parseSequence(close: UInt8, isTuple: Bool) throws -> PyValue {
        var items: [PyValue] = []
        while true {
            if expect(close) { return isTuple ? .tuple(items) : .list(items) }
            items.append(try parseValue())
            if expect(UInt8(ascii: ",")) { continue }
            guard expect(close) else { throw unexpected("',' or '\(Character(Unicode.Scalar(close)))'") }
            return isTuple ? .tuple(items) : .list(items)
        }
    }

    private mutating func parseString() throws -> String {
        let quote = bytes[position]
        position += 1
        var content: [UInt8] = []
        while true {
            guard let byte = current, byte != 0x0A else { throw unexpected("a closing quote") }
            position += 1
            if byte == quote { break }
            if byte == UInt8(ascii: "\\") {
                guard let escaped = current else { throw unexpected("an escaped character") }
                position += 1
                switch escaped {
                case UInt8(ascii: "n"): content.append(0x0A)
                case UInt8(ascii: "t"): content.append(0x09)
                case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): content.append(escaped)
                default: content += [byte, escaped]
                }
            } else {
                content.append(byte)
            }
        }
        if utf8 { return String(decoding: content, as: UTF8.self) }
        return String(String.UnicodeScalarView(content.map { Unicode.Scalar($0) }))  // Latin-1
    }

    private mutating func parseInt() throws -> Int {
        let start = position
        var negative = false
        if current == UInt8(ascii: "-") || current == UInt8(ascii: "+") {
            negative = current == UInt8(ascii: "-")
            position += 1
        }
        var value = 0
        var digits = 0
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else {
                position = start
                throw unexpected("an integer that fits in 64 bits")
            }
            value = sum
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw unexpected("digits") }
        if current == UInt8(ascii: "L") || current == UInt8(ascii: "l") { position += 1 }  // Python 2 long
        return negative ? -value : value
    }
}
