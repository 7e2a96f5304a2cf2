/// Conversions between tensors and `.npy` arrays, for checkpoints and `.npz` archives.
extension Tensor {
    /// A tensor holding `array`: float16 arrays stay float16, the other floating-point arrays
    /// become float32, booleans uint8, and integers keep their width (int32 or int64).
    public convenience init(npy array: NPYArray) {
        switch array.dtype {
        case .float32, .float64: self.init(array.floats, shape: array.shape)
        case .float16: self.init(array.floats.map { Float16($0) }, shape: array.shape)
        case .uint8, .bool: self.init(array.bytes, shape: array.shape)
        case .int32: self.init((array.int64s ?? []).map { Int32(truncatingIfNeeded: $0) }, shape: array.shape)
        case .int64: self.init(array.int64s ?? [], shape: array.shape)
        }
    }

    /// The tensor as an `.npy` array of its dtype, in row-major order. bfloat16 tensors, which
    /// NumPy has no dtype for, are written as float32 (`<f4`, exactly), so they read back as
    /// float32.
    public var npyArray: NPYArray {
        switch dtype {
        case .float32: return NPYArray(floats: toArray(of: Float.self), shape: shape)
        case .float16: return NPYArray(float16s: toArray(of: Float16.self), shape: shape)
        case .bfloat16: return NPYArray(floats: scalars, shape: shape)
        case .int32: return NPYArray(int32s: toArray(of: Int32.self), shape: shape)
        case .int64: return NPYArray(int64s: toArray(of: Int64.self), shape: shape)
        case .uint8: return NPYArray(uint8s: toArray(of: UInt8.self), shape: shape)
        }
    }
}
