/// Elementwise comparisons with broadcasting; results are `uint8` masks (1 = true), never
/// differentiable.
extension Tensor {
    private func compare(_ other: Tensor, _ operation: BinaryOperation, _ predicate: (Float, Float) -> Bool) -> Tensor {
        let a = dtype == .float32 ? self : to(.float32)
        let b = other.dtype == .float32 ? other : other.to(.float32)
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            fatalError("Kusari: cannot broadcast shapes \(a.shape) and \(b.shape)")
        }
        if let operations = DeviceDispatch.operations(operation.rawValue, [a, b]) {
            return Elementwise.onDevice(operation, a, b, operations)
        }
        let ac = a.contiguous(), bc = b.contiguous()
        let result = Tensor(uninitializedShape: shape, dtype: .uint8)
        let sa = Shape.broadcastStrides(shape: ac.shape, strides: ac.strides, to: shape)
        let sb = Shape.broadcastStrides(shape: bc.shape, strides: bc.strides, to: shape)
        let x = ac.floats, y = bc.floats, out = result.pointer(as: UInt8.self)
        StridedCopy.forEachRow(shape: shape, strides: [sa, sb, Shape.contiguousStrides(shape)]) { _, o, count, inner in
            for i in 0..<count { out[o[2] + i] = predicate(x[o[0] + i * inner[0]], y[o[1] + i * inner[1]]) ? 1 : 0 }
        }
        return result
    }

    public func equal(_ other: Tensor) -> Tensor { compare(other, .equal) { $0 == $1 } }
    public func notEqual(_ other: Tensor) -> Tensor { compare(other, .notEqual) { $0 != $1 } }
    public func greater(_ other: Tensor) -> Tensor { compare(other, .greater) { $0 > $1 } }
    public func greaterEqual(_ other: Tensor) -> Tensor { compare(other, .greaterEqual) { $0 >= $1 } }
    public func less(_ other: Tensor) -> Tensor { compare(other, .less) { $0 < $1 } }
    public func lessEqual(_ other: Tensor) -> Tensor { compare(other, .lessEqual) { $0 <= $1 } }

    public func equal(_ value: Float) -> Tensor { equal(Tensor(scalar: value)) }
    public func greater(_ value: Float) -> Tensor { greater(Tensor(scalar: value)) }
    public func less(_ value: Float) -> Tensor { less(Tensor(scalar: value)) }

    /// Picks `a` where `condition` is non-zero and `b` elsewhere, with broadcasting; gradients
    /// flow to the branch that was picked.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let mask = condition.notEqual(Tensor(scalar: 0)).to(.float32)
        let inverse = 1 - mask
        let result = withNoGrad { a * mask + b * inverse }
        return record("where", result, inputs: [a, b]) { grad in
            [(grad * mask).sumToShape(a.shape), (grad * inverse).sumToShape(b.shape)]
        }
    }
}
