import Foundation

extension Tensor {
    /// The elements in row-major order as Swift values of the tensor's dtype.
    public func toArray<T: TensorScalar>(of type: T.Type = T.self) -> [T] {
        require(T.dtype == dtype, "toArray(\(T.self)) on a \(dtype) tensor")
        let dense = device == .cpu ? contiguous() : DeviceDispatch.run("toArray") { try to(device: .cpu) }
        return Array(UnsafeBufferPointer(start: dense.pointer(as: T.self), count: count))
    }

    /// The elements as `Float`, converting integer and reduced-precision dtypes (exactly, except
    /// integers beyond 2^24).
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
        case .float16, .bfloat16:
            StridedCopy.gather(pointer(as: UInt16.self), shape: shape, strides: strides, into: result.pointer(as: UInt16.self))
        }
        return Tensor.record("contiguous", result, inputs: [self]) { [$0] }
    }

    /// Converts to another dtype. Between float dtypes (`float32`, `float16`, `bfloat16`) values
    /// round to nearest even and the conversion is differentiable (the gradient is converted
    /// back to this tensor's dtype); float → integer casts truncate toward zero, like NumPy.
    public func to(_ target: DType) -> Tensor {
        if target == dtype { return self }
        // Integers and the 16-bit floats convert through float32.
        if dtype.isFloatingPoint != target.isFloatingPoint && dtype != .float32 && target != .float32 {
            return to(.float32).to(target)
        }
        let source = contiguous()
        let result: Tensor
        if let operations = DeviceDispatch.operations("to(\(target))", [self]) {
            result = DeviceDispatch.run("to(\(target))") { try operations.convert(source, to: target) }
        } else {
            result = Tensor(uninitializedShape: shape, dtype: target)
            DTypeConversion.convert(source, into: result)
        }
        guard dtype.isFloatingPoint, target.isFloatingPoint else { return result }
        let sourceDType = dtype
        return Tensor.record("to(\(target))", result, inputs: [self]) { [$0.to(sourceDType)] }
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
