import Foundation

/// The element types the `.npy` codec reads and writes, named by their NumPy `descr` string.
///
/// Multi-byte types are always stored little-endian in an ``NPYArray``; big-endian files
/// (`>f4`, `>i8`, ...) are byte-swapped when read.
public enum NPYDType: String, CaseIterable, Sendable {
    /// 32-bit IEEE float, `<f4`.
    case float32 = "<f4"
    /// 64-bit IEEE float, `<f8`.
    case float64 = "<f8"
    /// 32-bit signed integer, `<i4`.
    case int32 = "<i4"
    /// 64-bit signed integer, `<i8`.
    case int64 = "<i8"
    /// 8-bit unsigned integer, `|u1`.
    case uint8 = "|u1"
    /// Boolean stored as one byte holding 0 or 1, `|b1`.
    case bool = "|b1"
    /// 16-bit IEEE float (half precision), `<f2`.
    case float16 = "<f2"

    /// The size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        case .float16: return 2
        case .uint8, .bool: return 1
        }
    }

    /// Whether this is a floating-point type.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 || self == .float16 }
}

/// An n-dimensional array as stored in a `.npy` file: a dtype, a shape and the raw element bytes.
///
/// `bytes` holds the elements in C (row-major) order, little-endian, exactly
/// `count * dtype.byteSize` of them. A shape of `[]` is a 0-d array (a scalar, one element);
/// a shape containing 0 holds no elements.
public struct NPYArray: Equatable, Sendable {
    /// The element type.
    public var dtype: NPYDType
    /// The dimensions, outermost first. `[]` is a scalar.
    public var shape: [Int]
    /// The raw little-endian, C-order element data.
    public var bytes: [UInt8]

    /// Creates an array from raw little-endian, C-order bytes.
    ///
    /// - Precondition: every dimension is non-negative and
    ///   `bytes.count == shape.reduce(1, *) * dtype.byteSize`.
    public init(dtype: NPYDType, shape: [Int], bytes: [UInt8]) {
        let count = NPYArray.elementCount(of: shape)
        precondition(count != nil, "NPYArray: invalid shape \(shape)")
        precondition(bytes.count == count! * dtype.byteSize,
                     "NPYArray: \(bytes.count) bytes do not match shape \(shape) of \(dtype.rawValue)")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Creates a `float32` array. - Precondition: `floats.count` equals the shape's element count.
    public init(floats: [Float], shape: [Int]) {
        self.init(dtype: .float32, shape: shape, bytes: NPYArray.encode(floats, shape: shape) { $0.bitPattern })
    }

    /// Creates a `float16` array. - Precondition: `float16s.count` equals the shape's element count.
    public init(float16s: [Float16], shape: [Int]) {
        self.init(dtype: .float16, shape: shape, bytes: NPYArray.encode(float16s, shape: shape) { $0.bitPattern })
    }

    /// Creates a `float64` array. - Precondition: `doubles.count` equals the shape's element count.
    public init(doubles: [Double], shape: [Int]) {
        self.init(dtype: .float64, shape: shape, bytes: NPYArray.encode(doubles, shape: shape) { $0.bitPattern })
    }

    /// Creates an `int32` array. - Precondition: `int32s.count` equals the shape's element count.
    public init(int32s: [Int32], shape: [Int]) {
        self.init(dtype: .int32, shape: shape, bytes: NPYArray.encode(int32s, shape: shape) { $0 })
    }

    /// Creates an `int64` array. - Precondition: `int64s.count` equals the shape's element count.
    public init(int64s: [Int64], shape: [Int]) {
        self.init(dtype: .int64, shape: shape, bytes: NPYArray.encode(int64s, shape: shape) { $0 })
    }

    /// Creates a `uint8` array. - Precondition: `uint8s.count` equals the shape's element count.
    public init(uint8s: [UInt8], shape: [Int]) {
        self.init(dtype: .uint8, shape: shape, bytes: NPYArray.encode(uint8s, shape: shape) { $0 })
    }

    /// Creates a `bool` array. - Precondition: `bools.count` equals the shape's element count.
    public init(bools: [Bool], shape: [Int]) {
        self.init(dtype: .bool, shape: shape, bytes: NPYArray.encode(bools, shape: shape) { $0 ? UInt8(1) : 0 })
    }

    /// The number of elements: the product of `shape` (1 for a scalar).
    public var count: Int { NPYArray.elementCount(of: shape) ?? 0 }

    /// The elements converted to `Float`, in C order (float64 and 64-bit integers may lose precision;
    /// booleans become 0 or 1).
    public var floats: [Float] {
        switch dtype {
        case .float32: return decode(UInt32.self) { Float(bitPattern: $0) }
        case .float64: return decode(UInt64.self) { Float(Double(bitPattern: $0)) }
        case .float16: return decode(UInt16.self) { Float(Float16(bitPattern: $0)) }
        case .int32: return decode(Int32.self) { Float($0) }
        case .int64: return decode(Int64.self) { Float($0) }
        case .uint8, .bool: return decode(UInt8.self) { Float($0) }
        }
    }

    /// The elements converted to `Double`, in C order (64-bit integers beyond 2^53 lose precision).
    public var doubles: [Double] {
        switch dtype {
        case .float32: return decode(UInt32.self) { Double(Float(bitPattern: $0)) }
        case .float64: return decode(UInt64.self) { Double(bitPattern: $0) }
        case .float16: return decode(UInt16.self) { Double(Float16(bitPattern: $0)) }
        case .int32: return decode(Int32.self) { Double($0) }
        case .int64: return decode(Int64.self) { Double($0) }
        case .uint8, .bool: return decode(UInt8.self) { Double($0) }
        }
    }

    /// The elements as `Int64` for integer and bool dtypes; `nil` for floating-point dtypes.
    public var int64s: [Int64]? {
        switch dtype {
        case .float32, .float64, .float16: return nil
        case .int32: return decode(Int32.self) { Int64($0) }
        case .int64: return decode(Int64.self) { $0 }
        case .uint8, .bool: return decode(UInt8.self) { Int64($0) }
        }
    }

    /// The elements as `Int32` for integer and bool dtypes; `nil` for floating-point dtypes or when
    /// an `int64` element does not fit.
    public var int32s: [Int32]? {
        guard let wide = int64s else { return nil }
        var result: [Int32] = []
        result.reserveCapacity(wide.count)
        for value in wide {
            guard let narrow = Int32(exactly: value) else { return nil }
            result.append(narrow)
        }
        return result
    }

    /// The product of `shape`, or `nil` when a dimension is negative or the product overflows `Int`.
    static func elementCount(of shape: [Int]) -> Int? {
        var count = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// Serializes `values` little-endian after checking their count against `shape`.
    private static func encode<Value, Bits: FixedWidthInteger>(
        _ values: [Value], shape: [Int], _ bits: (Value) -> Bits
    ) -> [UInt8] {
        precondition(elementCount(of: shape) == values.count,
                     "NPYArray: \(values.count) values do not match shape \(shape)")
        let size = MemoryLayout<Bits>.size
        return [UInt8](unsafeUninitializedCapacity: values.count * size) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            for (index, value) in values.enumerated() {
                raw.storeBytes(of: bits(value).littleEndian, toByteOffset: index * size, as: Bits.self)
            }
            initialized = values.count * size
        }
    }

    /// Reads the elements as little-endian `Bits` and converts each one.
    private func decode<Bits: FixedWidthInteger, Value>(_: Bits.Type, _ convert: (Bits) -> Value) -> [Value] {
        let size = MemoryLayout<Bits>.size
        let n = min(count, bytes.count / size)
        return bytes.withUnsafeBytes { raw in
            (0..<n).map { convert(Bits(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: Bits.self))) }
        }
    }
}
