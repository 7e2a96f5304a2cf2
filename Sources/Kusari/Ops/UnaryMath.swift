import Foundation

enum ExpKernel: UnaryFloatKernel {
    static var deviceOperation: UnaryOperation { .exp }
    @inline(__always) static func apply(_ x: Float) -> Float { Foundation.exp(x) }
}
enum LogKernel: UnaryFloatKernel {
    static var deviceOperation: UnaryOperation { .log }
    @inline(__always) static func apply(_ x: Float) -> Float { Foundation.log(x) }
}
enum SqrtKernel: UnaryFloatKernel {
    static var deviceOperation: UnaryOperation { .sqrt }
    @inline(__always) static func apply(_ x: Float) -> Float { x.squareRoot() }
}
enum AbsKernel: UnaryFloatKernel {
    static var deviceOperation: UnaryOperation { .abs }
    @inline(__always) static func apply(_ x: Float) -> Float { Swift.abs(x) }
}
enum SinKernel: UnaryFloatKernel {
    static var deviceOperation: UnaryOperation { .sin }
    @inline(__always) static func apply(_ x: Float) -> Float { Foundation.sin(x) }
}
enum CosKernel: UnaryFloatKernel {
    static var deviceOperation: UnaryOperation { .cos }
    @inline(__always) static func apply(_ x: Float) -> Float { Foundation.cos(x) }
}
enum TanhKernel: UnaryFloatKernel {
    static var deviceOperation: UnaryOperation { .tanh }
    @inline(__always) static func apply(_ x: Float) -> Float { Foundation.tanh(x) }
}
enum SignKernel: UnaryFloatKernel {
    static var deviceOperation: UnaryOperation { .sign }
    @inline(__always) static func apply(_ x: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}
enum SigmoidKernel: UnaryFloatKernel {
    static var deviceOperation: UnaryOperation { .sigmoid }
    @inline(__always) static func apply(_ x: Float) -> Float {
        x >= 0 ? 1 / (1 + Foundation.exp(-x)) : { let e = Foundation.exp(x); return e / (1 + e) }()
    }
}
enum SoftplusKernel: UnaryFloatKernel {
    static var deviceOperation: UnaryOperation { .softplus }
    @inline(__always) static func apply(_ x: Float) -> Float { Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x))) }
}

/// Elementwise math functions with their derivatives.
extension Tensor {
    public func exp() -> Tensor {
        let result = Elementwise.unary(ExpKernel.self, self)
        let out = result.detach()
        return Tensor.record("exp", result, inputs: [self]) { [$0 * out] }
    }

    public func log() -> Tensor {
        let result = Elementwise.unary(LogKernel.self, self)
        let x = detach()
        return Tensor.record("log", result, inputs: [self]) { [$0 / x] }
    }

    public func sqrt() -> Tensor {
        let result = Elementwise.unary(SqrtKernel.self, self)
        let out = result.detach()
        return Tensor.record("sqrt", result, inputs: [self]) { [$0 * 0.5 / out] }
    }

    public func abs() -> Tensor {
        let result = Elementwise.unary(AbsKernel.self, self)
        let x = detach()
        return Tensor.record("abs", result, inputs: [self]) { [$0 * x.sign()] }
    }

    /// -1, 0 or 1 by sign (no gradient).
    public func sign() -> Tensor { Elementwise.unary(SignKernel.self, self) }

    public func sin() -> Tensor {
        let result = Elementwise.unary(SinKernel.self, self)
        let x = detach()
        return Tensor.record("sin", result, inputs: [self]) { [$0 * x.cos()] }
    }

    public func cos() -> Tensor {
        let result = Elementwise.unary(CosKernel.self, self)
        let x = detach()
        return Tensor.record("cos", result, inputs: [self]) { [-($0 * x.sin())] }
    }

    public func tanh() -> Tensor {
        let result = Elementwise.unary(TanhKernel.self, self)
        let out = result.detach()
        return Tensor.record("tanh", result, inputs: [self]) { [$0 * (1 - out * out)] }
    }

    public func sigmoid() -> Tensor {
        let result = Elementwise.unary(SigmoidKernel.self, self)
        let out = result.detach()
        return Tensor.record("sigmoid", result, inputs: [self]) { [$0 * out * (1 - out)] }
    }

    /// `log(1 + exp(x))`, computed without overflow.
    public func softplus() -> Tensor {
        let result = Elementwise.unary(SoftplusKernel.self, self)
        let x = detach()
        return Tensor.record("softplus", result, inputs: [self]) { [$0 * x.sigmoid()] }
    }

    public func square() -> Tensor { self * self }

    /// Clamps into `[min, max]`; the gradient is zero where clamping happened.
    public func clamp(min lower: Float? = nil, max upper: Float? = nil) -> Tensor {
        var result = detach()
        if let lower { result = result.maximum(Tensor(scalar: lower)) }
        if let upper { result = result.minimum(Tensor(scalar: upper)) }
        let x = detach()
        return Tensor.record("clamp", result, inputs: [self]) { grad in
            var inside = Tensor.ones(x.shape, on: x.device)
            if let lower { inside = inside * x.greaterEqual(Tensor(scalar: lower)).to(.float32) }
            if let upper { inside = inside * x.lessEqual(Tensor(scalar: upper)).to(.float32) }
            return [grad * inside]
        }
    }
}
