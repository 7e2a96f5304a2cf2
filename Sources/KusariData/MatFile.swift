import CMatio
import CZlib
import Foundation

/// The elements of a real, dense MATLAB array, in MATLAB's column-major order (the first index
/// varies fastest).
public enum MatArrayData: Sendable, Equatable {
    case double([Double])
    case single([Float])
    case int8([Int8])
    case uint8([UInt8])
    case int16([Int16])
    case uint16([UInt16])
    case int32([Int32])
    case uint32([UInt32])
    case int64([Int64])
    case uint64([UInt64])

    /// Number of elements.
    public var count: Int {
        switch self {
        case .double(let v): v.count
        case .single(let v): v.count
        case .int8(let v): v.count
        case .uint8(let v): v.count
        case .int16(let v): v.count
        case .uint16(let v): v.count
        case .int32(let v): v.count
        case .uint32(let v): v.count
        case .int64(let v): v.count
        case .uint64(let v): v.count
        }
    }

    /// MATLAB's name of the class (`"double"`, `"uint8"`, ...).
    public var className: String {
        switch self {
        case .double: "double"
        case .single: "single"
        case .int8: "int8"
        case .uint8: "uint8"
        case .int16: "int16"
        case .uint16: "uint16"
        case .int32: "int32"
        case .uint32: "uint32"
        case .int64: "int64"
        case .uint64: "uint64"
        }
    }

    /// The elements converted to `Double` (exact for every class except large 64-bit integers).
    public var doubles: [Double] {
        switch self {
        case .double(let v): v
        case .single(let v): v.map(Double.init)
        case .int8(let v): v.map(Double.init)
        case .uint8(let v): v.map(Double.init)
        case .int16(let v): v.map(Double.init)
        case .uint16(let v): v.map(Double.init)
        case .int32(let v): v.map(Double.init)
        case .uint32(let v): v.map(Double.init)
        case .int64(let v): v.map(Double.init)
        case .uint64(let v): v.map(Double.init)
        }
    }
}

/// A named, real, dense numeric MATLAB array.
public struct MatArray: Sendable, Equatable {
    /// The variable name in the file.
    public var name: String
    /// MATLAB dimensions (at least two; trailing singleton dimensions beyond the second are
    /// dropped by MATLAB). Elements are column-major: the first index varies fastest.
    public var dims: [Int]
    /// The elements, `dims.reduce(1, *)` of them.
    public var data: MatArrayData

    public init(name: String, dims: [Int], data: MatArrayData) {
        precondition(dims.count >= 2, "MatArray \(name): MATLAB arrays have at least two dimensions, got \(dims)")
        precondition(dims.allSatisfy { $0 >= 0 } && data.count == dims.reduce(1, *),
                     "MatArray \(name): \(data.count) elements do not fill \(dims)")
        self.name = name
        self.dims = dims
        self.data = data
    }
}

/// Reading and writing MATLAB MAT-files (version 5, with or without per-variable zlib
/// compression as MATLAB ≥ 7 writes them; reading also accepts version 4 and, where libmatio
/// was built with HDF5, 7.3) through libmatio. Only real, dense numeric arrays are supported.
///
/// Errors are ``DatasetError``s naming the file and the variable; libmatio's own diagnostics are
/// captured into the message instead of being printed.
public enum MatFile {
    /// Names of the variables in the file, in file order.
    public static func variableNames(in url: URL) throws -> [String] {
        try withOpenFile(url) { mat in try names(mat, url) }
    }

    /// Reads one variable.
    public static func read(_ name: String, from url: URL) throws -> MatArray {
        try read([name], from: url)[0]
    }

    /// Reads several variables (in the order of `names`), opening the file once.
    public static func read(_ names: [String], from url: URL) throws -> [MatArray] {
        try withOpenFile(url) { mat in
            try names.map { try readVariable($0, mat, url) }
        }
    }

    /// Writes `arrays` as a new MAT-file (version 5; each variable zlib-compressed when
    /// `compressed`, like MATLAB's default `-v7`), replacing any file at `url`.
    public static func write(_ arrays: [MatArray], to url: URL, compressed: Bool = true) throws {
        installLogger
        let path = url.path
        try? FileManager.default.removeItem(at: url)
        clearMessage()
        guard let mat = Mat_CreateVer(path, nil, MAT_FT_MAT5) else {
            throw DatasetError(file: path, location: "file", message: "cannot create MAT-file\(libraryMessage())")
        }
        var failure: DatasetError?
        for array in arrays {
            if let error = writeVariable(array, mat, path, compressed: compressed) {
                failure = error
                break
            }
        }
        Mat_Close(mat)
        if let failure {
            try? FileManager.default.removeItem(at: url)
            throw failure
        }
    }

    // MARK: - Reading

    private static func withOpenFile<T>(_ url: URL, _ body: (OpaquePointer) throws -> T) throws -> T {
        installLogger
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw DatasetError(file: path, location: "file", message: "no such file")
        }
        clearMessage()
        guard let mat = Mat_Open(path, Int32(MAT_ACC_RDONLY.rawValue)) else {
            throw DatasetError(file: path, location: "header",
                               message: "not a readable MATLAB MAT-file (truncated or wrong format)\(libraryMessage())")
        }
        defer { Mat_Close(mat) }
        try checkMAT5Structure(url)
        return try body(mat)
    }

    /// Walks the top-level data elements of a version-5 file and checks that each lies within
    /// the file: libmatio reads a truncated variable as zeros without failing.
    static func checkMAT5Structure(_ url: URL) throws {
        let path = url.path
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 128), header.count == 128 else { return }
        let bytes = [UInt8](header)
        let littleEndian: Bool
        switch (bytes[126], bytes[127]) {
        case (0x49, 0x4D): littleEndian = true  // "IM"
        case (0x4D, 0x49): littleEndian = false  // "MI"
        default: return  // version 4 or not a MAT-file: libmatio decides
        }
        let version = littleEndian ? UInt16(bytes[124]) | UInt16(bytes[125]) << 8 : UInt16(bytes[124]) << 8 | UInt16(bytes[125])
        guard version == 0x0100 else { return }  // 7.3 (HDF5) files are checked by HDF5
        guard let size = try? handle.seekToEnd() else { return }
        func word(_ data: [UInt8], _ at: Int) -> UInt32 {
            let b = data[at..<(at + 4)].map(UInt32.init)
            return littleEndian ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]
        }
        var offset: UInt64 = 128
        var index = 0
        while offset < size {
            try handle.seek(toOffset: offset)
            let tag = [UInt8]((try? handle.read(upToCount: 8)) ?? Data())
            guard tag.count == 8 else {
                throw DatasetError(file: path, location: "byte \(offset)",
                                   message: "truncated file: \(size - offset) stray bytes where data element \(index + 1) should start")
            }
            let type = word(tag, 0), count = UInt64(word(tag, 4))
            guard type == 14 || type == 15 else {  // miMATRIX, miCOMPRESSED
                throw DatasetError(file: path, location: "byte \(offset)",
                                   message: "data element \(index + 1) has type \(type), expected a matrix (14) or compressed (15) element")
            }
            let end = offset + 8 + (type == 14 ? (count + 7) / 8 * 8 : count)
            if end > size {
                let prefix = [UInt8]((try? handle.read(upToCount: type == 14 ? 256 : 4096)) ?? Data())
                let name = type == 14 ? matrixName(prefix, littleEndian: littleEndian) : compressedMatrixName(prefix, littleEndian: littleEndian)
                throw DatasetError(file: path, location: name.map { "variable \($0)" } ?? "data element \(index + 1) at byte \(offset)",
                                   message: "truncated file: the element needs \(8 + count) bytes from byte \(offset), "
                                       + "but the file ends after \(size - offset)")
            }
            offset = end
            index += 1
        }
    }

    /// The array name in the first bytes of an miMATRIX element's data (after its tag).
    private static func matrixName(_ data: [UInt8], littleEndian: Bool) -> String? {
        func word(_ at: Int) -> UInt32? {
            guard at + 4 <= data.count else { return nil }
            let b = data[at..<(at + 4)].map(UInt32.init)
            return littleEndian ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]
        }
        // Sub-elements: array flags (16 bytes), dimensions, name (possibly in the small format).
        var at = 16
        guard let dimsBytes = word(at + 4) else { return nil }
        at += 8 + (Int(dimsBytes) + 7) / 8 * 8
        guard let nameTag = word(at) else { return nil }
        let small = nameTag >> 16
        let (start, length) = small != 0 ? (at + 4, Int(small)) : (at + 8, Int(word(at + 4) ?? 0))
        guard length > 0, start + length <= data.count else { return nil }
        return String(decoding: data[start..<(start + length)], as: UTF8.self)
    }

    /// The array name of an miCOMPRESSED element, from the first inflated bytes.
    private static func compressedMatrixName(_ data: [UInt8], littleEndian: Bool) -> String? {
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var input = data
        var output = [UInt8](repeating: 0, count: 512)
        let produced: Int = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = UInt32(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = UInt32(outBuffer.count)
                _ = inflate(&stream, Z_SYNC_FLUSH)
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        guard produced > 8 else { return nil }
        return matrixName(Array(output[8..<produced]), littleEndian: littleEndian)
    }

    private static func names(_ mat: OpaquePointer, _ url: URL) throws -> [String] {
        clearMessage()
        var n = 0
        guard let dir = Mat_GetDir(mat, &n) else {
            if n == 0 && lastMessage() == nil { return [] }
            throw DatasetError(file: url.path, location: "variable directory",
                               message: "cannot list the variables (corrupt or truncated file)\(libraryMessage())")
        }
        // The array belongs to the mat_t and is freed by Mat_Close.
        let result = (0..<n).compactMap { dir[$0].map { String(cString: $0) } }
        _ = Mat_Rewind(mat)
        return result
    }

    /// A variable as libmatio read it: its elements are borrowed from libmatio's buffer.
    struct RawVariable {
        let name: String
        let dims: [Int]
        let elementClass: matio_classes
        /// `dims.reduce(1, *)` elements of the class's native type.
        let bytes: UnsafeRawBufferPointer

        var className: String { MatFile.className(elementClass) }

        /// The elements converted to `Double`.
        var doubles: [Double] {
            func convert<T>(_: T.Type, _ f: (T) -> Double) -> [Double] { bytes.bindMemory(to: T.self).map(f) }
            switch elementClass {
            case MAT_C_DOUBLE: return convert(Double.self) { $0 }
            case MAT_C_SINGLE: return convert(Float.self, Double.init)
            case MAT_C_INT8: return convert(Int8.self, Double.init)
            case MAT_C_UINT8: return convert(UInt8.self, Double.init)
            case MAT_C_INT16: return convert(Int16.self, Double.init)
            case MAT_C_UINT16: return convert(UInt16.self, Double.init)
            case MAT_C_INT32: return convert(Int32.self, Double.init)
            case MAT_C_UINT32: return convert(UInt32.self, Double.init)
            case MAT_C_INT64: return convert(Int64.self, Double.init)
            default: return convert(UInt64.self, Double.init)
            }
        }
    }

    /// Reads `names` and passes them to `body` without copying their elements (which are valid
    /// only inside `body`): for large arrays such as SVHN's `X`.
    static func withRawVariables<T>(_ names: [String], from url: URL, _ body: ([RawVariable]) throws -> T) throws -> T {
        try withOpenFile(url) { mat in
            var read = [(UnsafeMutablePointer<matvar_t>, RawVariable)]()
            defer { for (pointer, _) in read { Mat_VarFree(pointer) } }
            for name in names { read.append(try rawVariable(name, mat, url)) }
            return try body(read.map(\.1))
        }
    }

    /// `Mat_VarRead` with every check; the caller frees the returned `matvar_t`.
    private static func rawVariable(_ name: String, _ mat: OpaquePointer, _ url: URL) throws -> (UnsafeMutablePointer<matvar_t>, RawVariable) {
        let path = url.path
        let location = "variable \(name)"
        clearMessage()
        guard let variable = Mat_VarRead(mat, name) else {
            let message = libraryMessage()
            _ = Mat_Rewind(mat)
            if let available = try? names(mat, url), !available.contains(name) {
                let list = available.isEmpty ? "none" : available.joined(separator: ", ")
                throw DatasetError(file: path, location: location,
                                   message: "missing variable (the file has: \(list))\(message)")
            }
            throw DatasetError(file: path, location: location,
                               message: "cannot read the variable (corrupt or truncated file)\(message)")
        }
        do {
            // libmatio fills short reads with zeros and only logs them: a diagnostic means bad data.
            if let message = lastMessage() {
                throw DatasetError(file: path, location: location,
                                   message: "cannot read the variable (corrupt or truncated file) (libmatio: \(message))")
            }
            let v = variable.pointee
            let rank = Int(v.rank)
            guard rank >= 2, let dimsPointer = v.dims else {
                throw DatasetError(file: path, location: location, message: "invalid rank \(rank)")
            }
            let dims = (0..<rank).map { Int(dimsPointer[$0]) }
            if v.isComplex != 0 {
                throw DatasetError(file: path, location: location, message: "complex arrays are not supported; expected a real array")
            }
            let elementSize: Int
            switch v.class_type {
            case MAT_C_DOUBLE, MAT_C_INT64, MAT_C_UINT64: elementSize = 8
            case MAT_C_SINGLE, MAT_C_INT32, MAT_C_UINT32: elementSize = 4
            case MAT_C_INT16, MAT_C_UINT16: elementSize = 2
            case MAT_C_INT8, MAT_C_UINT8: elementSize = 1
            default:
                throw DatasetError(file: path, location: location,
                                   message: "class \(className(v.class_type)) is not supported; expected a numeric array")
            }
            let needed = dims.reduce(1, *) * elementSize
            guard needed == 0 || (v.data != nil && v.nbytes >= needed) else {
                throw DatasetError(file: path, location: location,
                                   message: "data holds \(v.nbytes) bytes, expected \(needed) for dims \(dims) (corrupt or truncated file)")
            }
            let bytes = UnsafeRawBufferPointer(start: needed == 0 ? nil : v.data, count: needed)
            return (variable, RawVariable(name: name, dims: dims, elementClass: v.class_type, bytes: bytes))
        } catch {
            Mat_VarFree(variable)
            throw error
        }
    }

    private static func readVariable(_ name: String, _ mat: OpaquePointer, _ url: URL) throws -> MatArray {
        let (pointer, raw) = try rawVariable(name, mat, url)
        defer { Mat_VarFree(pointer) }
        func copy<T>(_: T.Type, _ wrap: ([T]) -> MatArrayData) -> MatArrayData {
            wrap(Array(raw.bytes.bindMemory(to: T.self)))
        }
        let data: MatArrayData
        switch raw.elementClass {
        case MAT_C_DOUBLE: data = copy(Double.self, MatArrayData.double)
        case MAT_C_SINGLE: data = copy(Float.self, MatArrayData.single)
        case MAT_C_INT8: data = copy(Int8.self, MatArrayData.int8)
        case MAT_C_UINT8: data = copy(UInt8.self, MatArrayData.uint8)
        case MAT_C_INT16: data = copy(Int16.self, MatArrayData.int16)
        case MAT_C_UINT16: data = copy(UInt16.self, MatArrayData.uint16)
        case MAT_C_INT32: data = copy(Int32.self, MatArrayData.int32)
        case MAT_C_UINT32: data = copy(UInt32.self, MatArrayData.uint32)
        case MAT_C_INT64: data = copy(Int64.self, MatArrayData.int64)
        default: data = copy(UInt64.self, MatArrayData.uint64)
        }
        return MatArray(name: name, dims: raw.dims, data: data)
    }

    static func className(_ c: matio_classes) -> String {
        switch c {
        case MAT_C_EMPTY: "empty"
        case MAT_C_CELL: "cell"
        case MAT_C_STRUCT: "struct"
        case MAT_C_OBJECT: "object"
        case MAT_C_CHAR: "char"
        case MAT_C_SPARSE: "sparse"
        case MAT_C_DOUBLE: "double"
        case MAT_C_SINGLE: "single"
        case MAT_C_INT8: "int8"
        case MAT_C_UINT8: "uint8"
        case MAT_C_INT16: "int16"
        case MAT_C_UINT16: "uint16"
        case MAT_C_INT32: "int32"
        case MAT_C_UINT32: "uint32"
        case MAT_C_INT64: "int64"
        case MAT_C_UINT64: "uint64"
        case MAT_C_FUNCTION: "function"
        case MAT_C_OPAQUE: "opaque"
        default: "unknown (\(c.rawValue))"
        }
    }

    // MARK: - Writing

    private static func writeVariable(_ array: MatArray, _ mat: OpaquePointer, _ path: String,
                                      compressed: Bool) -> DatasetError? {
        func write<T>(_ values: [T], _ elementClass: matio_classes, _ type: matio_types) -> DatasetError? {
            var dims = array.dims.map { Int($0) }
            return values.withUnsafeBufferPointer { buffer -> DatasetError? in
                // MAT_F_DONT_COPY_DATA: libmatio neither copies nor frees the buffer.
                let data = UnsafeMutableRawPointer(mutating: buffer.baseAddress)
                clearMessage()
                guard let variable = Mat_VarCreate(array.name, elementClass, type, Int32(dims.count), &dims, data,
                                                   Int32(MAT_F_DONT_COPY_DATA.rawValue)) else {
                    return DatasetError(file: path, location: "variable \(array.name)",
                                        message: "cannot create the variable\(libraryMessage())")
                }
                defer { Mat_VarFree(variable) }
                let status = Mat_VarWrite(mat, variable, compressed ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE)
                guard status == 0 else {
                    return DatasetError(file: path, location: "variable \(array.name)",
                                        message: "cannot write the variable\(libraryMessage())")
                }
                return nil
            }
        }
        switch array.data {
        case .double(let v): return write(v, MAT_C_DOUBLE, MAT_T_DOUBLE)
        case .single(let v): return write(v, MAT_C_SINGLE, MAT_T_SINGLE)
        case .int8(let v): return write(v, MAT_C_INT8, MAT_T_INT8)
        case .uint8(let v): return write(v, MAT_C_UINT8, MAT_T_UINT8)
        case .int16(let v): return write(v, MAT_C_INT16, MAT_T_INT16)
        case .uint16(let v): return write(v, MAT_C_UINT16, MAT_T_UINT16)
        case .int32(let v): return write(v, MAT_C_INT32, MAT_T_INT32)
        case .uint32(let v): return write(v, MAT_C_UINT32, MAT_T_UINT32)
        case .int64(let v): return write(v, MAT_C_INT64, MAT_T_INT64)
        case .uint64(let v): return write(v, MAT_C_UINT64, MAT_T_UINT64)
        }
    }

    // MARK: - libmatio diagnostics

    private static let messageKey = "kusari.matio.message"

    /// Routes libmatio's log (which otherwise goes to stderr) into a per-thread slot, so that
    /// its diagnostics end up in the thrown error.
    private static let installLogger: Void = {
        _ = Mat_LogInitFunc("kusari") { _, message in
            guard let message else { return }
            let text = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
            let dictionary = Thread.current.threadDictionary
            if let previous = dictionary[MatFile.messageKey] as? String {
                dictionary[MatFile.messageKey] = previous + "; " + text
            } else {
                dictionary[MatFile.messageKey] = text
            }
        }
    }()

    private static func clearMessage() {
        Thread.current.threadDictionary.removeObject(forKey: messageKey)
    }

    private static func lastMessage() -> String? {
        Thread.current.threadDictionary[messageKey] as? String
    }

    private static func libraryMessage() -> String {
        lastMessage().map { " (libmatio: \($0))" } ?? ""
    }
}
