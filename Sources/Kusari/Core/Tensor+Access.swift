import Foundation

extension Tensor {
    /// The elements in row-major order as Swift values of the tensor's dtype.
    public func toArray<T: TensorScalar>(of type: T.Type = T.self) -> [T] {
        require(T.dtype == dtype, "toArray(\(T.self)) on a \(dtype) tensor")
        let dense = device == .cpu ? contiguous() : DeviceDispatch.run("toArray") { try to(device: .cpu) }
        return Array(UnsafeBufferPointer(start: dense.pointer(as: T.self), count: count))
    }

    /// The elements as `Float`, converting integer dtypes.
    public var scalars: [Float] {
        dtype == .float32 ? toArray(of: Float.self) : to(.float32).toArray(of: Float.self)
    }

    /// The only element of a single-element tensor.
    public func item() -> Float {
        require(count == 1, "item() on a tensor with \(count) elements")
        return scalars[0]
    }

    /// This tensor if it is already plain and dense, otherwise a dense copy.
    public func contiguous() -> Tensor {
        if storage.blockedLayout != nil { storage.makePlain() }
        if isContiguous { return self }
        return contiguousCopy()
    }

    /// A dense copy that shares nothing with this tensor; gradients flow through it.
    public func contiguousCopy() -> Tensor {
        if let operations = DeviceDispatch.operations("contiguous", [self]) {
            let result = DeviceDispatch.run("contiguous") {
                let result = try Tensor(uninitializedShape: shape, dtype: dtype, on: operations)
                try operations.copy(self, into: result)
                return result
            }
            return Tensor.record("contiguous", result, inputs: [self]) { [$0] }
        }
        if storage.blockedLayout != nil { storage.makePlain() }
        let result = Tensor(uninitializedShape: shape, dtype: dtype)
        switch dtype {
        case .float32: StridedCopy.gather(floats, shape: shape, strides: strides, into: result.floats)
        case .int32: StridedCopy.gather(pointer(as: Int32.self), shape: shape, strides: strides, into: result.pointer(as: Int32.self))
        case .int64: StridedCopy.gather(pointer(as: Int64.self), shape: shape, strides: strides, into: result.pointer(as: Int64.self))
        case .uint8: StridedCopy.gather(pointer(as: UInt8.self), shape: shape, strides: strides, into: result.pointer(as: UInt8.self))
        }
        return Tensor.record("contiguous", result, inputs: [self]) { [$0] }
    }

    /// Converts to another dtype (float ↔ integer casts truncate toward zero, like NumPy).
    public func to(_ target: DType) -> Tensor {
        if target == dtype { return self }
        let source = contiguous()
        if let operations = DeviceDispatch.operations("to(\(target))", [self]) {
            return DeviceDispatch.run("to(\(target))") { try operations.convert(source, to: target) }
        }
        let result = Tensor(uninitializedShape: shape, dtype: target)
        func convert<S: TensorScalar, D: TensorScalar>(_: S.Type, _: D.Type) {
            let src = source.pointer(as: S.self), dst = result.pointer(as: D.self)
            for i in 0..<count { dst[i] = D(fromDouble: src[i].doubleValue) }
        }
        switch (dtype, target) {
        case (.float32, .int32): convert(Float.self, Int32.self)
        case (.float32, .int64): convert(Float.self, Int64.self)
        case (.float32, .uint8): convert(Float.self, UInt8.self)
        case (.int32, .float32): convert(Int32.self, Float.self)
        case (.int32, .int64): convert(Int32.self, Int64.self)
        case (.int32, .uint8): convert(Int32.self, UInt8.self)
        case (.int64, .float32): convert(Int64.self, Float.self)
        case (.int64, .int32): convert(Int64.self, Int32.self)
        case (.int64, .uint8): convert(Int64.self, UInt8.self)
        case (.uint8, .float32): convert(UInt8.self, Float.self)
        case (.uint8, .int32): convert(UInt8.self, Int32.self)
        case (.uint8, .int64): convert(UInt8.self, Int64.self)
        default: break
        }
        return result
    }

    /// Copies `source`'s values into this tensor's storage, in place (shapes must match).
    /// Used by optimizers and checkpoint loading; records nothing.
    public func assign(_ source: Tensor) {
        require(source.shape == shape, "assign: shape \(source.shape) does not match \(shape)")
        require(source.dtype == dtype, "assign: dtype \(source.dtype) does not match \(dtype)")
        require(isContiguous, "assign needs a contiguous destination")
        if device != .cpu {
            let operations = DeviceDispatch.operations("assign", [self])!
            DeviceDispatch.run("assign") { try operations.copy(source.onDevice(of: operations, "assign"), into: self) }
            return
        }
        let dense = source.device == .cpu ? source.contiguous() : DeviceDispatch.run("assign") { try source.to(device: .cpu) }
        memmove(storage.data + offset * dtype.byteSize, dense.storage.data + dense.offset * dtype.byteSize,
                count * dtype.byteSize)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = count <= 64 ? scalars.map { String($0) }.joined(separator: ", ") : "…"
        return "Tensor(shape: \(shape), dtype: \(dtype), [\(values)])"
    }
}

extension Tensor {
    /// Calls `body` with the float32 elements of this contiguous tensor, for in-place updates
    /// (optimizers, initialisers). Records nothing for autodiff.
    public func withUnsafeMutableFloats<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        require(dtype == .float32, "withUnsafeMutableFloats on a \(dtype) tensor")
        if storage.blockedLayout != nil { storage.makePlain() }
        require(isContiguous, "withUnsafeMutableFloats needs a contiguous tensor")
        return try body(UnsafeMutableBufferPointer(start: floats, count: count))
    }

    /// Calls `body` with the float32 elements in row-major order (copying first if needed).
    public func withUnsafeFloats<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        require(dtype == .float32, "withUnsafeFloats on a \(dtype) tensor")
        let dense = device == .cpu ? contiguous() : DeviceDispatch.run("withUnsafeFloats") { try to(device: .cpu) }
        return try body(UnsafeBufferPointer(start: dense.floats, count: count))
    }
}
