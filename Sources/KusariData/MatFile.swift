import CMatio
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
        return try body(mat)
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

    private static func readVariable(_ name: String, _ mat: OpaquePointer, _ url: URL) throws -> MatArray {
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
        defer { Mat_VarFree(variable) }
        let v = variable.pointee
        let rank = Int(v.rank)
        guard rank >= 2, let dimsPointer = v.dims else {
            throw DatasetError(file: path, location: location, message: "invalid rank \(rank)")
        }
        let dims = (0..<rank).map { Int(dimsPointer[$0]) }
        let count = dims.reduce(1, *)
        if v.isComplex != 0 {
            throw DatasetError(file: path, location: location, message: "complex arrays are not supported; expected a real array")
        }
        let elementClass = v.class_type
        let data: MatArrayData
        func copy<T>(_: T.Type, _ wrap: ([T]) -> MatArrayData) throws -> MatArrayData {
            let needed = count * MemoryLayout<T>.stride
            guard count == 0 || (v.data != nil && v.nbytes >= needed) else {
                throw DatasetError(file: path, location: location,
                                   message: "data holds \(v.nbytes) bytes, expected \(needed) for dims \(dims)"
                                       + " (corrupt or truncated file)\(libraryMessage())")
            }
            guard count > 0, let raw = v.data else { return wrap([]) }
            let typed = raw.bindMemory(to: T.self, capacity: count)
            return wrap(Array(UnsafeBufferPointer(start: typed, count: count)))
        }
        switch elementClass {
        case MAT_C_DOUBLE: data = try copy(Double.self, MatArrayData.double)
        case MAT_C_SINGLE: data = try copy(Float.self, MatArrayData.single)
        case MAT_C_INT8: data = try copy(Int8.self, MatArrayData.int8)
        case MAT_C_UINT8: data = try copy(UInt8.self, MatArrayData.uint8)
        case MAT_C_INT16: data = try copy(Int16.self, MatArrayData.int16)
        case MAT_C_UINT16: data = try copy(UInt16.self, MatArrayData.uint16)
        case MAT_C_INT32: data = try copy(Int32.self, MatArrayData.int32)
        case MAT_C_UINT32: data = try copy(UInt32.self, MatArrayData.uint32)
        case MAT_C_INT64: data = try copy(Int64.self, MatArrayData.int64)
        case MAT_C_UINT64: data = try copy(UInt64.self, MatArrayData.uint64)
        default:
            throw DatasetError(file: path, location: location,
                               message: "class \(className(elementClass)) is not supported; expected a numeric array")
        }
        return MatArray(name: name, dims: dims, data: data)
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
