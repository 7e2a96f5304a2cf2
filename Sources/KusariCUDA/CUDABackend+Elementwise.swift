import Foundation
import Kusari

extension CUDABackend {
    /// `operation(x)` elementwise for float32 `x` (a strided `x` is packed first), with the
    /// CPU's formulas (see ``KernelSource/elementwise``).
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for another dtype or device;
    ///   ``CUDAError`` when a launch fails.
    public func unary(_ operation: UnaryOperation, _ x: Tensor) throws -> Tensor {
        try expectFloat32(x, operation.rawValue)
        let input = try denseOnDevice(x, operation.rawValue)
        let result = try Tensor(uninitializedShape: x.shape, dtype: .float32, on: self)
        guard result.count > 0 else { return result }
        try launch("kusari_\(operation.rawValue)_f32", in: .elementwise, count: result.count,
                   [.pointer(Self.address(input)), .pointer(Self.address(result)), .count(result.count)])
        return result
    }

    /// `operation(a, b)` for float32 `a` and `b` of any strides, broadcast to `shape` as NumPy
    /// does: float32 for arithmetic, `uint8` 0/1 for comparisons. Same-shape contiguous operands
    /// take a flat kernel; the others go through a merged rank-6 layout with stride 0 along
    /// broadcast axes.
    /// - Throws: ``Kusari/KusariError`` for another dtype or device, operands that do not
    ///   broadcast to `shape` or more than 6 unmergeable axes; ``CUDAError`` when a launch fails.
    public func binary(_ operation: BinaryOperation, _ a: Tensor, _ b: Tensor, shape: [Int]) throws -> Tensor {
        let op = operation.rawValue
        for operand in [a, b] {
            try expectFloat32(operand, op)
            try expectOnDevice(operand, op)
        }
        let result = try Tensor(uninitializedShape: shape, dtype: operation.isComparison ? .uint8 : .float32, on: self)
        let count = result.count
        guard count > 0 else { return result }
        let name = "kusari_" + Self.snakeCase(op)
        let (x, y, out) = (Self.address(a), Self.address(b), Self.address(result))
        if a.shape == shape, b.shape == shape, a.isContiguous, b.isContiguous {
            try launch(name + "_f32", in: .elementwise, count: count,
                       [.pointer(x), .pointer(y), .pointer(out), .count(count)])
        } else {
            let layout = try Self.mergedLayout(shape: shape, try Self.broadcastStrides(a, to: shape, op),
                                               try Self.broadcastStrides(b, to: shape, op), op)
            try launch(name + "_broadcast_f32", in: .elementwise, count: count,
                       [.pointer(x), .pointer(y), .pointer(out), .count(count), layout.argument])
        }
        return result
    }

    /// An activation of float32 `input` with oneDNN's formulas (see ``KernelSource/activation``;
    /// relu keeps NaN).
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for another dtype or device;
    ///   ``CUDAError`` when the launch fails.
    public func activationForward(_ activation: Activation, input: Tensor) throws -> Tensor {
        try expectFloat32(input, "activation input")
        let x = try denseOnDevice(input, "activation input")
        let result = try Tensor(uninitializedShape: input.shape, dtype: .float32, on: self)
        let count = result.count
        guard count > 0 else { return result }
        let (name, source, alpha) = Self.activationKernel(activation)
        try launch(name + "_f32", in: source, count: count,
                   [.pointer(Self.address(x)), .pointer(Self.address(result)), .count(count)] + alpha)
        return result
    }

    /// The input gradient of ``activationForward(_:input:)`` from the forward `input` (elu's too,
    /// as oneDNN computes it) and the output `gradient`.
    /// - Throws: ``Kusari/KusariError`` for another dtype or device or differing shapes;
    ///   ``CUDAError`` when the launch fails.
    public func activationBackward(_ activation: Activation, gradient: Tensor, input: Tensor) throws -> Tensor {
        try expectFloat32(gradient, "activation gradient")
        try expectFloat32(input, "activation input")
        guard gradient.shape == input.shape else {
            throw KusariError.shapeMismatch("activation gradient \(gradient.shape) does not match input \(input.shape)")
        }
        let dy = try denseOnDevice(gradient, "activation gradient"), x = try denseOnDevice(input, "activation input")
        let result = try Tensor(uninitializedShape: input.shape, dtype: .float32, on: self)
        let count = result.count
        guard count > 0 else { return result }
        let (name, source, alpha) = Self.activationKernel(activation)
        try launch(name + "_backward_f32", in: source, count: count,
                   [.pointer(Self.address(dy)), .pointer(Self.address(x)), .pointer(Self.address(result)),
                    .count(count)] + alpha)
        return result
    }

    /// The kernels of `activation` (`<name>_f32` and `<name>_backward_f32`), their source and
    /// their trailing parameter (if any).
    private static func activationKernel(_ activation: Activation) -> (String, KernelSource, [KernelArgument]) {
        switch activation {
        case .relu: return ("kusari_relu", .elementwise, [])
        case .leakyRelu(let slope): return ("kusari_leaky_relu", .activation, [.float(slope)])
        case .elu(let alpha): return ("kusari_elu", .activation, [.float(alpha)])
        case .gelu: return ("kusari_gelu", .activation, [])
        }
    }

    /// The strides that read `tensor` as `shape` (0 along broadcast axes).
    /// - Throws: ``Kusari/KusariError/shapeMismatch(_:)`` when `tensor` does not broadcast to `shape`.
    private static func broadcastStrides(_ tensor: Tensor, to shape: [Int], _ op: String) throws -> [Int] {
        let leading = shape.count - tensor.rank
        guard leading >= 0, tensor.shape.indices.allSatisfy({ axis in
            tensor.shape[axis] == 1 || tensor.shape[axis] == shape[axis + leading]
        }) else {
            throw KusariError.shapeMismatch("\(op): \(tensor.shape) does not broadcast to \(shape)")
        }
        return Shape.broadcastStrides(shape: tensor.shape, strides: tensor.strides, to: shape)
    }

    /// `greaterEqual` → `greater_equal`, the kernels' spelling.
    private static func snakeCase(_ name: String) -> String {
        name.reduce(into: "") { result, character in
            result += character.isUppercase ? "_" + character.lowercased() : String(character)
        }
    }
}
