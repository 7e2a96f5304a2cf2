/// Elementwise arithmetic with NumPy broadcasting; gradients are summed back over broadcast axes.
extension Tensor {
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
        let result = Elementwise.binary(AddKernel.self, lhs, rhs)
        return record("add", result, inputs: [lhs, rhs]) { grad in
            [grad.sumToShape(lhs.shape), grad.sumToShape(rhs.shape)]
        }
    }

    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
        let result = Elementwise.binary(SubtractKernel.self, lhs, rhs)
        return record("sub", result, inputs: [lhs, rhs]) { grad in
            [grad.sumToShape(lhs.shape), (-grad).sumToShape(rhs.shape)]
        }
    }

    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor {
        let result = Elementwise.binary(MultiplyKernel.self, lhs, rhs)
        let (a, b) = (lhs.detach(), rhs.detach())
        return record("mul", result, inputs: [lhs, rhs]) { grad in
            [lhs.requiresGrad ? (grad * b).sumToShape(lhs.shape) : nil,
             rhs.requiresGrad ? (grad * a).sumToShape(rhs.shape) : nil]
        }
    }

    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor {
        let result = Elementwise.binary(DivideKernel.self, lhs, rhs)
        let (a, b) = (lhs.detach(), rhs.detach())
        return record("div", result, inputs: [lhs, rhs]) { grad in
            [lhs.requiresGrad ? (grad / b).sumToShape(lhs.shape) : nil,
             rhs.requiresGrad ? (-(grad * a) / (b * b)).sumToShape(rhs.shape) : nil]
        }
    }

    public static prefix func - (operand: Tensor) -> Tensor { operand * -1 }

    public static func + (lhs: Tensor, rhs: Float) -> Tensor { lhs + Tensor(scalar: rhs) }
    public static func + (lhs: Float, rhs: Tensor) -> Tensor { Tensor(scalar: lhs) + rhs }
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs - Tensor(scalar: rhs) }
    public static func - (lhs: Float, rhs: Tensor) -> Tensor { Tensor(scalar: lhs) - rhs }
    public static func * (lhs: Tensor, rhs: Float) -> Tensor { lhs * Tensor(scalar: rhs) }
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { Tensor(scalar: lhs) * rhs }
    public static func / (lhs: Tensor, rhs: Float) -> Tensor { lhs * (1 / rhs) }
    public static func / (lhs: Float, rhs: Tensor) -> Tensor { Tensor(scalar: lhs) / rhs }

    /// Elementwise maximum; the gradient goes to the larger operand (to `self` on ties).
    public func maximum(_ other: Tensor) -> Tensor {
        let result = Elementwise.binary(MaximumKernel.self, self, other)
        let (a, b) = (detach(), other.detach())
        return Tensor.record("maximum", result, inputs: [self, other]) { grad in
            let takeSelf = a.greaterEqual(b).to(.float32)
            return [(grad * takeSelf).sumToShape(a.shape), (grad * (1 - takeSelf)).sumToShape(b.shape)]
        }
    }

    /// Elementwise minimum; the gradient goes to the smaller operand (to `self` on ties).
    public func minimum(_ other: Tensor) -> Tensor {
        let result = Elementwise.binary(MinimumKernel.self, self, other)
        let (a, b) = (detach(), other.detach())
        return Tensor.record("minimum", result, inputs: [self, other]) { grad in
            let takeSelf = a.lessEqual(b).to(.float32)
            return [(grad * takeSelf).sumToShape(a.shape), (grad * (1 - takeSelf)).sumToShape(b.shape)]
        }
    }

    /// `self` raised to the elementwise power `exponent`.
    public func pow(_ exponent: Tensor) -> Tensor {
        let result = Elementwise.binary(PowerKernel.self, self, exponent)
        let (a, b, out) = (detach(), exponent.detach(), result.detach())
        return Tensor.record("pow", result, inputs: [self, exponent]) { grad in
            [self.requiresGrad ? (grad * b * a.pow(b - 1)).sumToShape(a.shape) : nil,
             exponent.requiresGrad ? (grad * out * a.log()).sumToShape(b.shape) : nil]
        }
    }

    /// `self` raised to a constant power.
    public func pow(_ exponent: Float) -> Tensor {
        if exponent == 2 { return self * self }
        let result = Elementwise.binary(PowerKernel.self, self, Tensor(scalar: exponent))
        let a = detach()
        return Tensor.record("pow", result, inputs: [self]) { grad in
            [grad * exponent * a.pow(exponent - 1)]
        }
    }

    /// Sums a broadcast gradient back down to `target` shape.
    public func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let leading = rank - target.count
        var axes = Array(0..<leading)
        for (i, size) in target.enumerated() where size == 1 && shape[i + leading] != 1 { axes.append(i + leading) }
        let summed = axes.isEmpty ? self : sum(axes: axes, keepDims: true)
        return summed.reshape(target)
    }
}
