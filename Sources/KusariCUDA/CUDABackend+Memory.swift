import Foundation
import Kusari

extension CUDABackend {
    /// Sets every element of the contiguous `tensor` to `value`, converted to its dtype as the
    /// CPU does (toward zero for the integer dtypes, to nearest even for float16 and bfloat16).
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for a strided tensor, a tensor on
    ///   another device or a value its integer dtype cannot hold; ``CUDAError`` when the launch
    ///   fails.
    public func fill(_ tensor: Tensor, with value: Float) throws {
        try expectOnDevice(tensor, "fill")
        guard tensor.isContiguous else {
            throw KusariError.invalidArgument("fill needs a contiguous tensor, got \(tensor.shape) with strides "
                                              + "\(tensor.strides)")
        }
        guard tensor.count > 0 else { return }
        let name: String, argument: KernelArgument
        switch tensor.dtype {
        case .float32: (name, argument) = ("f32", .float(value))
        case .int32: (name, argument) = ("i32", .int32(try Self.integer(value, as: Int32.self)))
        case .int64: (name, argument) = ("i64", .int64(try Self.integer(value, as: Int64.self)))
        case .uint8: (name, argument) = ("u8", .int32(Int32(try Self.integer(value, as: UInt8.self))))
        case .float16: (name, argument) = ("u16", .int32(Int32(Float16(value).bitPattern)))
        case .bfloat16: (name, argument) = ("u16", .int32(Int32(Self.bfloat16Bits(value))))
        }
        try launch("kusari_fill_\(name)", in: .elementwise, count: tensor.count,
                   [.pointer(Self.address(tensor)), .count(tensor.count), argument])
    }

    /// Copies `source` into `destination` (same shape and dtype, any strides, stride 0 along
    /// broadcast axes of the source): one `cuMemcpyDtoDAsync` when both are contiguous,
    /// otherwise a strided-copy kernel over the axes left after dropping size-1 axes and merging
    /// neighbours that both tensors lay out as one (at most 6 of them).
    /// - Throws: ``Kusari/KusariError`` for different shapes or dtypes, a tensor on another
    ///   device or more than 6 unmergeable axes; ``CUDAError`` when the copy fails.
    public func copy(_ source: Tensor, into destination: Tensor) throws {
        try expectOnDevice(source, "copy source")
        try expectOnDevice(destination, "copy destination")
        guard source.shape == destination.shape, source.dtype == destination.dtype else {
            throw KusariError.shapeMismatch("copy of a \(source.shape) \(source.dtype) tensor into a "
                                            + "\(destination.shape) \(destination.dtype) one")
        }
        let count = source.count
        guard count > 0 else { return }
        if source.isContiguous && destination.isContiguous {
            let bytes = count * source.dtype.byteSize
            try context.makeCurrent()
            try context.driver.check(context.driver.cuMemcpyDtoDAsync(Self.address(destination), Self.address(source),
                                                                      bytes, context.stream),
                                     "cuMemcpyDtoDAsync_v2(\(bytes) bytes)")
            return
        }
        let layout = try Self.mergedLayout(shape: source.shape, source.strides, destination.strides, "copy")
        try launch("kusari_copy_strided_b\(source.dtype.byteSize * 8)", in: .elementwise, count: count,
                   [.pointer(Self.address(source)), .pointer(Self.address(destination)), .count(count),
                    layout.argument])
    }

    /// A contiguous copy of `source` as `dtype`, with the CPU's conversions: floats round toward
    /// zero when they become integers, `int64` reaches float32 through double, and float32,
    /// float16 and bfloat16 convert into one another with one rounding to nearest even (NaN
    /// stays NaN, float16 overflows to infinity); integers and the 16-bit floats convert through
    /// float32 (so integers beyond 2²⁴ round twice on their way to bfloat16). Values the CPU
    /// cannot convert (NaN or out of range, where it stops) give defined results here: float →
    /// integer saturates (NaN gives 0), integer → narrower integer keeps the low bits.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for a tensor on another device;
    ///   ``CUDAError`` when the launch fails.
    public func convert(_ source: Tensor, to dtype: DType) throws -> Tensor {
        let input = try denseOnDevice(source, "convert")
        let sixteenBit = Self.isSixteenBitFloat(source.dtype) || Self.isSixteenBitFloat(dtype)
        if sixteenBit && !(source.dtype.isFloatingPoint && dtype.isFloatingPoint) {
            return try convert(convert(input, to: .float32), to: dtype)
        }
        let result = try Tensor(uninitializedShape: source.shape, dtype: dtype, on: self)
        if dtype == source.dtype {
            try copy(input, into: result)
        } else if result.count > 0 {
            let name = sixteenBit ? "kusari_\(Self.suffix(source.dtype))_to_\(Self.suffix(dtype))"
                                  : "kusari_convert_\(Self.suffix(source.dtype))_\(Self.suffix(dtype))"
            try launch(name, in: .conversion, count: result.count,
                       [.pointer(Self.address(input)), .pointer(Self.address(result)), .count(result.count)])
        }
        return result
    }
}

// MARK: - Shared by the kernel-backed ops

extension CUDABackend {
    /// Queues kernel `name` of `source` over `count` elements (grid-stride launch).
    func launch(_ name: String, in source: KernelSource, count: Int, _ arguments: [KernelArgument]) throws {
        try context.launch(kernel(name, in: source), count: count, arguments: arguments)
    }

    /// Queues kernel `name` of `source` with one block per row (as many blocks as the launch
    /// helper allows, the kernel looping over the rest) of a multiple of 32 threads fitted to
    /// `work` items per row, at most `maxThreads`.
    func launchRows(_ name: String, in source: KernelSource, rows: Int, work: Int, maxThreads: Int,
                    _ arguments: [KernelArgument]) throws {
        let blocks = max(1, min(rows, context.device.multiprocessors * 32))
        let threads = min(maxThreads, max(32, (work + 31) / 32 * 32))
        try context.launch(kernel(name, in: source), grid: (blocks, 1, 1), block: (threads, 1, 1), arguments: arguments)
    }

    /// Throws unless `tensor` lives on this backend's device.
    func expectOnDevice(_ tensor: Tensor, _ role: String) throws {
        guard tensor.device == device else {
            throw KusariError.invalidArgument("\(role) is on \(tensor.device), not \(device)")
        }
    }

    /// Throws unless `tensor` is float32.
    func expectFloat32(_ tensor: Tensor, _ role: String) throws {
        guard tensor.dtype == .float32 else {
            throw KusariError.invalidArgument("\(role) must be float32, got \(tensor.dtype)")
        }
    }

    /// Throws unless `tensor` holds int32 or int64 indices.
    func expectIndices(_ tensor: Tensor, _ role: String) throws {
        guard tensor.dtype == .int32 || tensor.dtype == .int64 else {
            throw KusariError.invalidArgument("\(role) must be int32 or int64, got \(tensor.dtype)")
        }
    }

    /// `tensor` (on this device) as contiguous data: itself when it already is, otherwise a
    /// contiguous copy (queued).
    func denseOnDevice(_ tensor: Tensor, _ role: String) throws -> Tensor {
        try expectOnDevice(tensor, role)
        if tensor.isContiguous { return tensor }
        let result = try Tensor(uninitializedShape: tensor.shape, dtype: tensor.dtype, on: self)
        try copy(tensor, into: result)
        return result
    }

    /// The elements of the contiguous int32 or int64 `indices`, read back to the host (waits
    /// for the queued work).
    func hostIndices(_ indices: Tensor) throws -> [Int] {
        try readIndices(at: Self.address(indices), count: indices.count, dtype: indices.dtype)
    }

    /// Element `position` of the contiguous int32 or int64 `indices` (waits for the queued work).
    func hostIndex(_ indices: Tensor, at position: Int) throws -> Int {
        let address = Self.address(indices) + CUdeviceptr(position * indices.dtype.byteSize)
        return try readIndices(at: address, count: 1, dtype: indices.dtype)[0]
    }

    /// `count` int32 or int64 values from device `address`.
    private func readIndices(at address: CUdeviceptr, count: Int, dtype: DType) throws -> [Int] {
        guard count > 0 else { return [] }
        guard let source = UnsafeRawPointer(bitPattern: UInt(address)) else {
            throw KusariError.invalidArgument("indices at a null device address")
        }
        func read<T: FixedWidthInteger>(_: T.Type) throws -> [Int] {
            var values = [T](repeating: 0, count: count)
            try values.withUnsafeMutableBytes { bytes in
                if let destination = bytes.baseAddress {
                    try copy(fromDevice: source, toHost: destination, byteCount: bytes.count)
                }
            }
            return values.map { Int($0) }
        }
        return dtype == .int64 ? try read(Int64.self) : try read(Int32.self)
    }

    /// A layout over `shape` for the strides of two operands, with size-1 axes dropped and
    /// neighbouring axes merged wherever both operands step through them as through one axis.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` when more than 6 axes remain.
    static func mergedLayout(shape: [Int], _ stridesA: [Int], _ stridesB: [Int], _ op: String) throws -> KernelLayout {
        var sizes: [Int] = [], a: [Int] = [], b: [Int] = []
        for axis in shape.indices where shape[axis] != 1 {
            if let last = sizes.indices.last, a[last] == stridesA[axis] * shape[axis],
               b[last] == stridesB[axis] * shape[axis] {
                sizes[last] *= shape[axis]
                a[last] = stridesA[axis]
                b[last] = stridesB[axis]
            } else {
                sizes.append(shape[axis])
                a.append(stridesA[axis])
                b.append(stridesB[axis])
            }
        }
        guard sizes.count <= KernelLayout.maxRank else {
            throw KusariError.invalidArgument("\(op): a \(shape) layout with strides \(stridesA) and \(stridesB) "
                                              + "has more than \(KernelLayout.maxRank) axes that cannot be merged")
        }
        return KernelLayout(shape: sizes, stridesA: a, stridesB: b)
    }

    /// The kernels' name suffix for `dtype`.
    static func suffix(_ dtype: DType) -> String {
        switch dtype {
        case .float32: return "f32"
        case .int32: return "i32"
        case .int64: return "i64"
        case .uint8: return "u8"
        case .float16: return "f16"
        case .bfloat16: return "bf16"
        }
    }

    /// Whether `dtype` is float16 or bfloat16.
    static func isSixteenBitFloat(_ dtype: DType) -> Bool { dtype == .float16 || dtype == .bfloat16 }

    /// The bfloat16 bit pattern nearest to `value` (to nearest even; NaN stays a quiet NaN).
    static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        return UInt16(truncatingIfNeeded: (bits &+ 0x7fff &+ ((bits >> 16) & 1)) >> 16)
    }

    /// `value` rounded toward zero as a `T`.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for NaN or a value out of `T`'s range.
    private static func integer<T: FixedWidthInteger>(_ value: Float, as type: T.Type) throws -> T {
        guard let result = T(exactly: value.rounded(.towardZero)) else {
            throw KusariError.invalidArgument("fill value \(value) does not fit \(T.self)")
        }
        return result
    }
}
