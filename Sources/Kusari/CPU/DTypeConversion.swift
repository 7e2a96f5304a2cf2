import Foundation

/// Element-wise dtype conversion of dense host tensors, split across threads.
enum DTypeConversion {
    /// Converts the contiguous host tensor `source` into `result` (same shape, another dtype).
    /// Float → float16/bfloat16 rounds to nearest even; other pairs with a 16-bit float go
    /// through float32 (integers beyond 2^24 round twice); float → integer truncates toward zero.
    static func convert(_ source: Tensor, into result: Tensor) {
        let count = source.count
        switch (source.dtype, result.dtype) {
        case (.float32, .float16):
            HalfConversion.toFloat16(source.floats, result.pointer(as: UInt16.self), count: count)
        case (.float32, .bfloat16):
            HalfConversion.toBFloat16(source.floats, result.pointer(as: UInt16.self), count: count)
        case (.float16, .float32):
            HalfConversion.fromFloat16(source.pointer(as: UInt16.self), result.floats, count: count)
        case (.bfloat16, .float32):
            HalfConversion.fromBFloat16(source.pointer(as: UInt16.self), result.floats, count: count)
        case (.float16, _), (.bfloat16, _), (_, .float16), (_, .bfloat16):
            let wide = Tensor(uninitializedShape: source.shape)
            convert(source, into: wide)
            convert(wide, into: result)
        case (.float32, .int32): cast(source, Float.self, into: result, Int32.self)
        case (.float32, .int64): cast(source, Float.self, into: result, Int64.self)
        case (.float32, .uint8): cast(source, Float.self, into: result, UInt8.self)
        case (.int32, .float32): cast(source, Int32.self, into: result, Float.self)
        case (.int32, .int64): cast(source, Int32.self, into: result, Int64.self)
        case (.int32, .uint8): cast(source, Int32.self, into: result, UInt8.self)
        case (.int64, .float32): cast(source, Int64.self, into: result, Float.self)
        case (.int64, .int32): cast(source, Int64.self, into: result, Int32.self)
        case (.int64, .uint8): cast(source, Int64.self, into: result, UInt8.self)
        case (.uint8, .float32): cast(source, UInt8.self, into: result, Float.self)
        case (.uint8, .int32): cast(source, UInt8.self, into: result, Int32.self)
        case (.uint8, .int64): cast(source, UInt8.self, into: result, Int64.self)
        case (.float32, .float32), (.int32, .int32), (.int64, .int64), (.uint8, .uint8):
            memcpy(result.pointer(as: UInt8.self), source.pointer(as: UInt8.self), count * source.dtype.byteSize)
        }
    }

    /// `result[i] = D(source[i])` through `Double`.
    private static func cast<S: TensorScalar, D: TensorScalar>(_ source: Tensor, _: S.Type, into result: Tensor, _: D.Type) {
        let src = source.pointer(as: S.self), dst = result.pointer(as: D.self)
        Threading.parallelFor(source.count) { start, end in
            for i in start..<end { dst[i] = D(fromDouble: src[i].doubleValue) }
        }
    }
}
