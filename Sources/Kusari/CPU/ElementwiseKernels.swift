import Foundation

/// A scalar function of two floats that the binary kernel driver specialises on.
protocol BinaryFloatKernel {
    /// The same operation on a GPU.
    static var deviceOperation: BinaryOperation { get }
    static func apply(_ a: Float, _ b: Float) -> Float
    /// Whether `apply(0, 0) == 0`, so the kernel may run over blocked oneDNN buffers whose
    /// padding holds zeros.
    static var preservesZero: Bool { get }
}

/// A scalar function of one float that the unary kernel driver specialises on.
protocol UnaryFloatKernel {
    /// The same operation on a GPU.
    static var deviceOperation: UnaryOperation { get }
    static func apply(_ x: Float) -> Float
}

enum AddKernel: BinaryFloatKernel {
    static var deviceOperation: BinaryOperation { .add }
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b }
    static var preservesZero: Bool { true }
}
enum SubtractKernel: BinaryFloatKernel {
    static var deviceOperation: BinaryOperation { .sub }
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b }
    static var preservesZero: Bool { true }
}
enum MultiplyKernel: BinaryFloatKernel {
    static var deviceOperation: BinaryOperation { .mul }
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b }
    static var preservesZero: Bool { true }
}
enum DivideKernel: BinaryFloatKernel {
    static var deviceOperation: BinaryOperation { .div }
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b }
    static var preservesZero: Bool { false }
}
enum MaximumKernel: BinaryFloatKernel {
    static var deviceOperation: BinaryOperation { .maximum }
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a >= b ? a : b }
    static var preservesZero: Bool { true }
}
enum MinimumKernel: BinaryFloatKernel {
    static var deviceOperation: BinaryOperation { .minimum }
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a <= b ? a : b }
    static var preservesZero: Bool { true }
}
enum PowerKernel: BinaryFloatKernel {
    static var deviceOperation: BinaryOperation { .pow }
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { Foundation.pow(a, b) }
    static var preservesZero: Bool { false }
}

/// Drivers that run a kernel over tensors, handling broadcasting, strides and threading.
enum Elementwise {
    /// `K(a, b)` elementwise with NumPy broadcasting; float32 inputs.
    static func binary<K: BinaryFloatKernel>(_ kernel: K.Type, _ a: Tensor, _ b: Tensor) -> Tensor {
        require(a.dtype == .float32 && b.dtype == .float32,
                "elementwise arithmetic needs float32 tensors, got \(a.dtype) and \(b.dtype)")
        if let operations = DeviceDispatch.operations(K.deviceOperation.rawValue, [a, b]) {
            return onDevice(K.deviceOperation, a, b, operations)
        }
        if K.preservesZero, a.shape == b.shape, let layout = a.storage.blockedLayout,
           b.storage.blockedLayout == layout {
            // Same blocked layout on both sides: run over the raw buffers, padding included.
            let result = Tensor(storage: Storage(blockedLayout: layout), shape: a.shape, dtype: .float32)
            flat(K.self, a.floats, b.floats, result.floats, count: layout.byteSize / 4)
            return result
        }
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            fatalError("Kusari: cannot broadcast shapes \(a.shape) and \(b.shape)")
        }
        let a = a.storage.blockedLayout == nil ? a : a.contiguous()
        let b = b.storage.blockedLayout == nil ? b : b.contiguous()
        let result = Tensor(uninitializedShape: shape)
        let out = result.floats
        if a.isContiguous, b.isContiguous, a.shape == b.shape {
            flat(K.self, a.floats, b.floats, out, count: result.count)
        } else if b.count == 1, a.isContiguous, a.shape == shape {
            let scalar = b.floats.pointee, x = a.floats
            Threading.parallelFor(result.count) { start, end in
                for i in start..<end { out[i] = K.apply(x[i], scalar) }
            }
        } else if a.count == 1, b.isContiguous, b.shape == shape {
            let scalar = a.floats.pointee, y = b.floats
            Threading.parallelFor(result.count) { start, end in
                for i in start..<end { out[i] = K.apply(scalar, y[i]) }
            }
        } else {
            let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: shape)
            let sb = Shape.broadcastStrides(shape: b.shape, strides: b.strides, to: shape)
            let x = a.floats, y = b.floats
            StridedCopy.forEachRow(shape: shape, strides: [sa, sb, Shape.contiguousStrides(shape)]) { _, offsets, count, inner in
                let px = x + offsets[0], py = y + offsets[1], po = out + offsets[2]
                let (ix, iy) = (inner[0], inner[1])
                if ix == 1 && iy == 1 {
                    for i in 0..<count { po[i] = K.apply(px[i], py[i]) }
                } else if ix == 1 && iy == 0 {
                    let v = py.pointee
                    for i in 0..<count { po[i] = K.apply(px[i], v) }
                } else if ix == 0 && iy == 1 {
                    let v = px.pointee
                    for i in 0..<count { po[i] = K.apply(v, py[i]) }
                } else {
                    for i in 0..<count { po[i] = K.apply(px[i * ix], py[i * iy]) }
                }
            }
        }
        return result
    }

    @inline(__always)
    private static func flat<K: BinaryFloatKernel>(_: K.Type, _ x: UnsafeMutablePointer<Float>,
                                                    _ y: UnsafeMutablePointer<Float>,
                                                    _ out: UnsafeMutablePointer<Float>, count: Int) {
        Threading.parallelFor(count) { start, end in
            for i in start..<end { out[i] = K.apply(x[i], y[i]) }
        }
    }

    /// `K(x)` elementwise; float32 input.
    static func unary<K: UnaryFloatKernel>(_ kernel: K.Type, _ x: Tensor) -> Tensor {
        require(x.dtype == .float32, "elementwise math needs a float32 tensor, got \(x.dtype)")
        if let operations = DeviceDispatch.operations(K.deviceOperation.rawValue, [x]) {
            let source = x.contiguous()
            return DeviceDispatch.run(K.deviceOperation.rawValue) { try operations.unary(K.deviceOperation, source) }
        }
        let source = x.contiguous()
        let result = Tensor(uninitializedShape: x.shape)
        let input = source.floats, out = result.floats
        Threading.parallelFor(result.count, grain: 8192) { start, end in
            for i in start..<end { out[i] = K.apply(input[i]) }
        }
        return result
    }

    /// `operation(a, b)` on the device of `operations`, broadcasting; a one-element CPU operand
    /// moves there first.
    static func onDevice(_ operation: BinaryOperation, _ a: Tensor, _ b: Tensor,
                         _ operations: any DeviceOperations) -> Tensor {
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            fatalError("Kusari: cannot broadcast shapes \(a.shape) and \(b.shape)")
        }
        let (x, y) = (a.onDevice(of: operations, operation.rawValue), b.onDevice(of: operations, operation.rawValue))
        return DeviceDispatch.run(operation.rawValue) { try operations.binary(operation, x, y, shape: shape) }
    }
}
