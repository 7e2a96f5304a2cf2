import Foundation

extension Tensor {
    /// A tensor holding `values` (row-major) with the given shape.
    public convenience init<T: TensorScalar>(_ values: [T], shape: [Int]) {
        self.init(values, shapeOf: shape)
    }

    /// A 1-d tensor holding `values`.
    public convenience init<T: TensorScalar>(_ values: [T]) {
        self.init(values, shape: [values.count])
    }

    /// A float32 tensor holding `values` (row-major) with the given shape. This non-generic
    /// overload lets array literals such as `Tensor([1, 2.5], shape: [2])` be float32.
    public convenience init(_ values: [Float], shape: [Int]) {
        self.init(values, shapeOf: shape)
    }

    /// A 1-d float32 tensor holding `values` (lets `Tensor([1, 2])` be float32).
    public convenience init(_ values: [Float]) {
        self.init(values, shapeOf: [values.count])
    }

    private convenience init<T: TensorScalar>(_ values: [T], shapeOf shape: [Int]) {
        require(values.count == Shape.count(shape), "\(values.count) values do not fill shape \(shape)")
        self.init(uninitializedShape: shape, dtype: T.dtype)
        values.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            pointer(as: T.self).update(from: base, count: values.count)
        }
    }

    /// A 0-d (scalar) float tensor.
    public convenience init(scalar: Float) {
        self.init([scalar], shape: [])
    }

    /// A tensor of `shape` filled with `value`, in host memory or on `device`.
    public static func full(_ shape: [Int], _ value: Float, dtype: DType = .float32, on device: Device = .cpu) -> Tensor {
        let result = uninitialized(shape, dtype: dtype, on: device)
        result.fill(value)
        return result
    }

    /// A tensor of zeros, in host memory or on `device`.
    public static func zeros(_ shape: [Int], dtype: DType = .float32, on device: Device = .cpu) -> Tensor {
        guard device == .cpu else { return full(shape, 0, dtype: dtype, on: device) }
        let result = Tensor(uninitializedShape: shape, dtype: dtype)
        memset(result.storage.data, 0, result.count * dtype.byteSize)
        return result
    }

    /// A tensor of ones, in host memory or on `device`.
    public static func ones(_ shape: [Int], dtype: DType = .float32, on device: Device = .cpu) -> Tensor {
        full(shape, 1, dtype: dtype, on: device)
    }

    /// Zeros with this tensor's shape, dtype and device.
    public func zerosLike() -> Tensor { Tensor.zeros(shape, dtype: dtype, on: device) }

    /// An uninitialised contiguous tensor on `device`; stops when no backend serves it.
    static func uninitialized(_ shape: [Int], dtype: DType = .float32, on device: Device) -> Tensor {
        guard device != .cpu else { return Tensor(uninitializedShape: shape, dtype: dtype) }
        guard let backend = DeviceBackends.backend(for: device) else {
            fatalError("Kusari: no GPU backend serves \(device) (see `kusari info`)")
        }
        return DeviceDispatch.run("allocation of \(shape) on \(device)") {
            try Tensor(uninitializedShape: shape, dtype: dtype, on: backend)
        }
    }

    /// `[start, start + step, …)` below `end`, as float32 or an integer type.
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1, dtype: DType = .float32) -> Tensor {
        let count = Swift.max(0, Int((Double(end - start) / Double(step)).rounded(.up)))
        let values = (0..<count).map { Double(start) + Double($0) * Double(step) }
        return Tensor.fromDoubles(values, shape: [count], dtype: dtype)
    }

    /// Builds a tensor of any dtype from `Double` values.
    static func fromDoubles(_ values: [Double], shape: [Int], dtype: DType) -> Tensor {
        switch dtype {
        case .float32: return Tensor(values.map { Float($0) }, shape: shape)
        case .int32: return Tensor(values.map { Int32($0) }, shape: shape)
        case .int64: return Tensor(values.map { Int64($0) }, shape: shape)
        case .uint8: return Tensor(values.map { UInt8($0) }, shape: shape)
        case .float16, .bfloat16: return Tensor(values.map { Float($0) }, shape: shape).to(dtype)
        }
    }

    /// Sets every element of this (contiguous) tensor to `value` (rounded to nearest even for
    /// float16 and bfloat16, truncated toward zero for integers), in place.
    public func fill(_ value: Float) {
        require(isContiguous, "fill needs a contiguous tensor")
        if let operations = DeviceDispatch.operations("fill", [self]) {
            DeviceDispatch.run("fill") { try operations.fill(self, with: value) }
            return
        }
        switch dtype {
        case .float32: floats.update(repeating: value, count: count)
        case .int32: pointer(as: Int32.self).update(repeating: Int32(value), count: count)
        case .int64: pointer(as: Int64.self).update(repeating: Int64(value), count: count)
        case .uint8: pointer(as: UInt8.self).update(repeating: UInt8(value), count: count)
        case .float16:
            pointer(as: UInt16.self).update(repeating: HalfConversion.float16Bits(fromFloatBits: value.bitPattern), count: count)
        case .bfloat16:
            pointer(as: UInt16.self).update(repeating: HalfConversion.bfloat16Bits(fromFloatBits: value.bitPattern), count: count)
        }
    }
}
