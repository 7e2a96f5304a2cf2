/// Element types a ``Tensor`` can hold.
///
/// Arithmetic and autodiff work on `float32`; the integer types carry class labels and indices,
/// and `uint8` carries raw images and boolean masks (0 or 1). `float16` (IEEE binary16) and
/// `bfloat16` (the upper half of a float32) are the reduced precisions of mixed-precision
/// training (see ``Autocast``): they support conversion, copies, views, `fill`, `assign` and NPY,
/// and convolutions and matrix products under autocast; every other op needs `float32`.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32, int32, int64, uint8, float16, bfloat16

    /// Size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .int64: return 8
        case .uint8: return 1
        case .float16, .bfloat16: return 2
        }
    }

    /// Whether the elements are floating-point numbers (`float32`, `float16` or `bfloat16`).
    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16: return true
        case .int32, .int64, .uint8: return false
        }
    }

    public var description: String { rawValue }
}

/// Swift scalar types that map onto a ``DType``.
public protocol TensorScalar: Numeric, Sendable {
    static var dtype: DType { get }
    /// Converts to `Double`, used for dtype conversions and printing.
    var doubleValue: Double { get }
    init(fromDouble value: Double)
}

extension Float: TensorScalar {
    public static var dtype: DType { .float32 }
    public var doubleValue: Double { Double(self) }
    public init(fromDouble value: Double) { self = Float(value) }
}

extension Float16: TensorScalar {
    public static var dtype: DType { .float16 }
    public var doubleValue: Double { Double(self) }
    public init(fromDouble value: Double) { self = Float16(value) }
}

extension Int32: TensorScalar {
    public static var dtype: DType { .int32 }
    public var doubleValue: Double { Double(self) }
    public init(fromDouble value: Double) { self = Int32(value) }
}

extension Int64: TensorScalar {
    public static var dtype: DType { .int64 }
    public var doubleValue: Double { Double(self) }
    public init(fromDouble value: Double) { self = Int64(value) }
}

extension UInt8: TensorScalar {
    public static var dtype: DType { .uint8 }
    public var doubleValue: Double { Double(self) }
    public init(fromDouble value: Double) { self = UInt8(value) }
}
