import Foundation
import Kusari

/// A stand-in GPU for tests on machines without one: its "device memory" is host memory, and
/// every ``DeviceOperations`` method runs the public CPU op on host copies of its inputs and
/// copies the result back, so the core's device dispatch (and its autodiff through the
/// `…Backward` methods) is exercised end to end and must agree with the CPU.
///
/// Backward methods recompute their op's forward pass on host leaves and back-propagate through
/// it. The device counts its calls per method name, the bytes it holds and its host transfers,
/// so tests can check that an op really ran "on the device" and that memory is given back. It
/// also checks the protocol's contract: a tensor from another device, or a non-contiguous one
/// where the protocol promises a contiguous one, makes the call throw.
public final class EmulatedDevice: DeviceOperations, @unchecked Sendable {
    /// The device this backend serves, `.cuda(ordinal)`.
    public let device: Device
    private let lock = NSLock()
    private var callCounts: [String: Int] = [:]
    private var heldBytes = 0
    private var transferCount = 0

    /// A device serving `.cuda(ordinal)`; see ``install(ordinal:)`` to register one.
    public init(ordinal: Int) {
        device = .cuda(ordinal)
    }

    /// A new emulated device registered with ``DeviceBackends`` as the backend of `.cuda(ordinal)`.
    @discardableResult
    public static func install(ordinal: Int) -> EmulatedDevice {
        precondition(DeviceBackends.backend(for: .cuda(ordinal)) == nil,
                     "cuda:\(ordinal) is already taken by another test suite: give each suite its own ordinal")
        let emulated = EmulatedDevice(ordinal: ordinal)
        DeviceBackends.register(emulated)
        return emulated
    }

    /// How often each ``DeviceOperations`` method ran, by method name (`"binary"`,
    /// `"convolutionBackward"`, …).
    public var calls: [String: Int] { lock.withLock { callCounts } }
    /// Bytes currently allocated on the device.
    public var liveBytes: Int { lock.withLock { heldBytes } }
    /// Copies between host and device memory so far (either direction).
    public var transfers: Int { lock.withLock { transferCount } }

    // MARK: DeviceBackend

    /// `byteCount` bytes of host memory (64-byte aligned), counted in ``liveBytes``.
    public func allocate(byteCount: Int) throws -> UnsafeMutableRawPointer {
        lock.withLock { heldBytes += byteCount }
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }

    /// Gives back memory from ``allocate(byteCount:)``.
    public func free(_ address: UnsafeMutableRawPointer, byteCount: Int) {
        lock.withLock { heldBytes -= byteCount }
        address.deallocate()
    }

    /// A plain memory copy, counted in ``transfers``.
    public func copy(fromHost source: UnsafeRawPointer, toDevice destination: UnsafeMutableRawPointer,
                     byteCount: Int) throws {
        lock.withLock { transferCount += 1 }
        destination.copyMemory(from: source, byteCount: byteCount)
    }

    /// A plain memory copy, counted in ``transfers``.
    public func copy(fromDevice source: UnsafeRawPointer, toHost destination: UnsafeMutableRawPointer,
                     byteCount: Int) throws {
        lock.withLock { transferCount += 1 }
        destination.copyMemory(from: source, byteCount: byteCount)
    }

    // MARK: Memory

    /// Writes `Tensor.full`'s values into `tensor`.
    public func fill(_ tensor: Tensor, with value: Float) throws {
        try expectContiguous("fill", tensor)
        try begin("fill", [tensor])
        Self.copyElements(from: Tensor.full(tensor.shape, value, dtype: tensor.dtype), to: tensor)
    }

    /// Copies element by element between the two strided layouts.
    public func copy(_ source: Tensor, into destination: Tensor) throws {
        try begin("copy", [source, destination])
        guard source.shape == destination.shape, source.dtype == destination.dtype else {
            throw KusariError.invalidArgument("copy of \(source.shape) \(source.dtype) into "
                                              + "\(destination.shape) \(destination.dtype)")
        }
        Self.copyElements(from: source, to: destination)
    }

    /// `Tensor.to(_:)` on the host.
    public func convert(_ source: Tensor, to dtype: DType) throws -> Tensor {
        try expectContiguous("convert", source)
        return try emulate("convert", source) { $0[0].to(dtype) }
    }

    // MARK: Elementwise

    /// The matching `Tensor` math method on the host.
    public func unary(_ operation: UnaryOperation, _ x: Tensor) throws -> Tensor {
        try expectContiguous("unary", x)
        return try emulate("unary", x) { inputs in
            let x = inputs[0]
            switch operation {
            case .exp: return x.exp()
            case .log: return x.log()
            case .sqrt: return x.sqrt()
            case .abs: return x.abs()
            case .sign: return x.sign()
            case .sin: return x.sin()
            case .cos: return x.cos()
            case .tanh: return x.tanh()
            case .sigmoid: return x.sigmoid()
            case .softplus: return x.softplus()
            }
        }
    }

    /// The matching broadcasting operator or comparison on the host.
    public func binary(_ operation: BinaryOperation, _ a: Tensor, _ b: Tensor, shape: [Int]) throws -> Tensor {
        try emulate("binary", a, b, shape: shape) { inputs in
            let (a, b) = (inputs[0], inputs[1])
            switch operation {
            case .add: return a + b
            case .sub: return a - b
            case .mul: return a * b
            case .div: return a / b
            case .maximum: return a.maximum(b)
            case .minimum: return a.minimum(b)
            case .pow: return a.pow(b)
            case .equal: return a.equal(b)
            case .notEqual: return a.notEqual(b)
            case .greater: return a.greater(b)
            case .greaterEqual: return a.greaterEqual(b)
            case .less: return a.less(b)
            case .lessEqual: return a.lessEqual(b)
            }
        }
    }

    // MARK: Reductions and products

    /// `sum`/`max`/`min` and `argmax`/`argmin` along axis 1 of the `[outer, length, inner]` view.
    public func reduce(_ operation: ReductionOperation, _ x: Tensor, outer: Int, length: Int, inner: Int) throws
        -> (values: Tensor, indices: Tensor?) {
        try expectContiguous("reduce", x)
        let results = try emulate("reduce", [x]) { inputs in
            let grid = inputs[0]!.reshape([outer, length, inner])
            switch operation {
            case .sum: return [grid.sum(axis: 1), nil]
            case .max: return [grid.max(axis: 1), grid.argmax(axis: 1)]
            case .min: return [grid.min(axis: 1), grid.argmin(axis: 1)]
            }
        }
        return (try Self.present(results[0], "reduce values"), results[1])
    }

    /// `Tensor.matmul` plus `beta · output` on the host, written into `output`; float16 and
    /// bfloat16 operands are widened to float32 first (exactly), as a GPU's float32 accumulation
    /// would compute them.
    public func matmul(_ a: Tensor, _ b: Tensor, into output: Tensor, beta: Float) throws {
        try expectContiguous("matmul", output)
        for operand in [a, b] where operand.rank != 2 || !operand.strides.contains(1) {
            throw KusariError.invalidArgument("matmul operand \(operand.shape) with strides \(operand.strides)")
        }
        guard a.dtype == b.dtype, a.dtype.isFloatingPoint, output.dtype == .float32 else {
            throw KusariError.invalidArgument("matmul of \(a.dtype) @ \(b.dtype) into \(output.dtype); expected "
                                              + "operands of one float dtype and a float32 output")
        }
        let product = try run("matmul", [a, b, beta == 0 ? nil : output]) { inputs in
            let product = Autocast.run(nil) { inputs[0]!.to(.float32).matmul(inputs[1]!.to(.float32)) }
            return [inputs[2].map { product + $0 * beta } ?? product]
        }
        Self.copyElements(from: try Self.present(product[0], "matmul", shape: output.shape), to: output)
    }

    // MARK: Neural-network layers

    /// ``conv2d`` or ``convTranspose2d`` with the descriptor's sizes, in the operands' dtype.
    public func convolutionForward(_ convolution: ConvolutionDescriptor, input: Tensor, weight: Tensor,
                                   bias: Tensor?) throws -> Tensor {
        try Self.expectOneFloatDType("convolutionForward", [input, weight] + (bias.map { [$0] } ?? []))
        return try emulate("convolutionForward", input, weight, bias, shape: convolution.outputShape) { inputs in
            try Self.convolve(convolution, inputs[0], inputs[1], inputs.count > 2 ? inputs[2] : nil)
        }
    }

    /// Back-propagates through ``conv2d``/``convTranspose2d`` recomputed from `input` and
    /// `weight` (with a zero bias when its gradient is needed).
    public func convolutionBackward(_ convolution: ConvolutionDescriptor, gradient: Tensor, input: Tensor,
                                    weight: Tensor, needed: (input: Bool, weight: Bool, bias: Bool)) throws
        -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
        guard convolution.outputShape.count == 4 else {
            throw KusariError.invalidArgument("convolution output shape \(convolution.outputShape)")
        }
        try Self.expectOneFloatDType("convolutionBackward", [gradient, input, weight])
        let bias = needed.bias ? [Tensor.zeros([convolution.outputShape[1]], dtype: input.dtype)] : []
        let grads = try differentiate("convolutionBackward", gradient, [input, weight], adding: bias) { leaves in
            try Self.convolve(convolution, leaves[0], leaves[1], needed.bias ? leaves[2] : nil)
        }
        return (needed.input ? grads[0] : nil, needed.weight ? grads[1] : nil, needed.bias ? grads[2] : nil)
    }

    /// ``maxPool2d`` or ``avgPool2d`` with the descriptor's sizes.
    public func poolingForward(_ pooling: PoolingDescriptor, input: Tensor) throws -> Tensor {
        try emulate("poolingForward", input, shape: pooling.outputShape) { Self.pool(pooling, $0[0]) }
    }

    /// Back-propagates through the pooling recomputed from `input`.
    public func poolingBackward(_ pooling: PoolingDescriptor, gradient: Tensor, input: Tensor, output: Tensor) throws
        -> Tensor {
        let grads = try differentiate("poolingBackward", gradient, [input]) { Self.pool(pooling, $0[0]) }
        return try Self.present(grads[0], "poolingBackward")
    }

    /// ``batchNorm`` on host copies, with the batch statistics computed alongside and the running
    /// statistics written back.
    public func batchNormForward(input: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?,
                                 runningVar: Tensor?, training: Bool, momentum: Float, eps: Float) throws
        -> (output: Tensor, mean: Tensor?, inverseStd: Tensor?) {
        guard training || (runningMean != nil && runningVar != nil) else {
            throw KusariError.invalidArgument("batchNormForward in evaluation mode without running statistics")
        }
        let results = try emulate("batchNormForward", [input, weight, bias, runningMean, runningVar]) { inputs in
            let x = inputs[0]!
            let output = batchNorm(x, weight: inputs[1], bias: inputs[2], runningMean: inputs[3],
                                   runningVar: inputs[4], training: training, momentum: momentum, eps: eps)
            guard training else { return [output] }
            // The batch statistics: the mean and `1 / sqrt(biased variance + eps)` per channel.
            let axes = x.rank == 4 ? [0, 2, 3] : [0]
            let mean = x.mean(axes: axes, keepDims: true)
            let variance = (x - mean).square().mean(axes: axes)
            return [output, mean.reshape([-1]), 1 / (variance + eps).sqrt(), inputs[3], inputs[4]]
        }
        if training {
            for (updated, running) in zip(results[3...], [runningMean, runningVar]) {
                if let updated, let running { Self.copyElements(from: updated, to: running) }
            }
        }
        return (try Self.present(results[0], "batchNormForward"), training ? results[1] : nil,
                training ? results[2] : nil)
    }

    /// Recomputes the training-mode forward pass from `input` (so `mean` and `inverseStd` are not read).
    public func batchNormBackward(gradient: Tensor, input: Tensor, weight: Tensor?, mean: Tensor, inverseStd: Tensor,
                                  eps: Float) throws -> (input: Tensor, weight: Tensor?, bias: Tensor?) {
        let grads = try differentiate("batchNormBackward", gradient, [input] + (weight.map { [$0] } ?? []),
                                      adding: weight.map { [Tensor.zeros($0.shape)] } ?? []) { leaves in
            batchNorm(leaves[0], weight: weight == nil ? nil : leaves[1], bias: weight == nil ? nil : leaves[2],
                      runningMean: nil, runningVar: nil, training: true, eps: eps)
        }
        return (try Self.present(grads[0], "batchNormBackward"), weight == nil ? nil : grads[1],
                weight == nil ? nil : grads[2])
    }

    /// ``localResponseNorm`` on the host.
    public func localResponseNormForward(input: Tensor, size: Int, alpha: Float, beta: Float, k: Float) throws
        -> Tensor {
        try emulate("localResponseNormForward", input) {
            localResponseNorm($0[0], size: size, alpha: alpha, beta: beta, k: k)
        }
    }

    /// Back-propagates through ``localResponseNorm`` recomputed from `input`.
    public func localResponseNormBackward(gradient: Tensor, input: Tensor, output: Tensor, size: Int, alpha: Float,
                                          beta: Float, k: Float) throws -> Tensor {
        let grads = try differentiate("localResponseNormBackward", gradient, [input]) {
            localResponseNorm($0[0], size: size, alpha: alpha, beta: beta, k: k)
        }
        return try Self.present(grads[0], "localResponseNormBackward")
    }

    /// ``relu``, ``leakyRelu``, ``elu`` or ``gelu`` on the host.
    public func activationForward(_ activation: Activation, input: Tensor) throws -> Tensor {
        try expectContiguous("activationForward", input)
        return try emulate("activationForward", input) { Self.activate(activation, $0[0]) }
    }

    /// Back-propagates through the activation recomputed from `input`.
    public func activationBackward(_ activation: Activation, gradient: Tensor, input: Tensor) throws -> Tensor {
        let grads = try differentiate("activationBackward", gradient, [input]) {
            Self.activate(activation, $0[0])
        }
        return try Self.present(grads[0], "activationBackward")
    }

    /// ``softmax`` or ``logSoftmax`` along axis 1 of the `[outer, length, inner]` view.
    public func softmaxForward(input: Tensor, outer: Int, length: Int, inner: Int, log: Bool) throws -> Tensor {
        try expectContiguous("softmaxForward", input)
        return try emulate("softmaxForward", input) { inputs in
            let grid = inputs[0].reshape([outer, length, inner])
            return (log ? logSoftmax(grid, axis: 1) : softmax(grid, axis: 1)).reshape(input.shape)
        }
    }

    /// The CPU's (oneDNN's) formulas on the forward `output`, as the input is not given:
    /// `y · (dy − Σ dy · y)` for softmax, `dy − exp(y) · Σ dy` for log-softmax.
    public func softmaxBackward(gradient: Tensor, output: Tensor, outer: Int, length: Int, inner: Int,
                                log: Bool) throws -> Tensor {
        try emulate("softmaxBackward", gradient, output) { inputs in
            let dy = inputs[0].reshape([outer, length, inner]), y = inputs[1].reshape([outer, length, inner])
            let dx = log ? dy - y.exp() * dy.sum(axis: 1, keepDims: true)
                         : y * (dy - (dy * y).sum(axis: 1, keepDims: true))
            return dx.reshape(gradient.shape)
        }
    }

    /// ``softmaxCrossEntropy`` without reduction and its gradient for a unit output gradient.
    public func softmaxCrossEntropy(logits: Tensor, labels: Tensor, ignoreIndex: Int) throws
        -> (losses: Tensor, gradient: Tensor) {
        try expectContiguous("softmaxCrossEntropy", logits)
        let results = try emulate("softmaxCrossEntropy", [logits, labels]) { inputs in
            let (scores, targets) = (inputs[0]!.requiringGrad(), inputs[1]!)
            try Self.checkIndices(targets, below: scores.shape[1], except: ignoreIndex, "softmaxCrossEntropy label")
            let losses = GradMode.withGrad {
                let losses = Kusari.softmaxCrossEntropy(scores, targets, ignoreIndex: ignoreIndex, reduction: .none)
                losses.backward(Tensor.ones(losses.shape))
                return losses.detach()
            }
            return [losses, scores.grad]
        }
        return (try Self.present(results[0], "softmaxCrossEntropy losses"),
                try Self.present(results[1], "softmaxCrossEntropy gradient"))
    }

    // MARK: Indexing and randomness

    /// `indexSelect` along axis 0 on the host.
    public func gatherRows(_ table: Tensor, indices: Tensor) throws -> Tensor {
        try expectContiguous("gatherRows", table)
        return try emulate("gatherRows", table, indices) { inputs in
            let (table, indices) = (inputs[0], inputs[1].reshape([-1]))
            try Self.checkIndices(indices, below: table.shape[0], "gatherRows index")
            return table.indexSelect(axis: 0, indices: indices)
        }
    }

    /// `scatterAdd` along axis 0 into zeros on the host (always in index order).
    public func scatterAddRows(_ source: Tensor, indices: Tensor, rows: Int, deterministic: Bool) throws -> Tensor {
        try expectContiguous("scatterAddRows", source)
        return try emulate("scatterAddRows", source, indices) { inputs in
            let (source, indices) = (inputs[0], inputs[1].to(.int64).reshape([-1, 1]))
            try Self.checkIndices(indices, below: rows, "scatterAddRows index")
            return Tensor.zeros([rows, source.shape[1]])
                .scatterAdd(axis: 0, indices: indices.expand(source.shape), source: source)
        }
    }

    /// The `Tensor` factory on the host with a ``Generator`` set to `(key, offset)`.
    public func random(_ distribution: RandomDistribution, shape: [Int], dtype: DType, key: UInt64,
                       offset: UInt64) throws -> Tensor {
        try emulate("random") { _ in
            let generator = Generator(seed: key)
            generator.state = (key, offset)
            let values: Tensor
            switch distribution {
            case .uniform(let low, let high):
                values = Tensor.uniform(shape, low: low, high: high, generator: generator)
            case .normal(let mean, let std):
                values = Tensor.normal(shape, mean: mean, std: std, generator: generator)
            case .bernoulli(let probability, let value):
                values = Tensor.bernoulli(shape, probability: probability, value: value, generator: generator)
            case .integers(let low, let high):
                values = Tensor.randint(shape, low: low, high: high, dtype: dtype, generator: generator)
            }
            return values.to(dtype)
        }
    }

    // MARK: Moving in, running, moving out

    /// Counts a call of `method` whose tensor arguments are `tensors`, which must live on this device.
    private func begin(_ method: String, _ tensors: [Tensor?]) throws {
        lock.withLock { callCounts[method, default: 0] += 1 }
        for case let tensor? in tensors where tensor.device != device {
            throw KusariError.invalidArgument("\(method) got a \(tensor.shape) tensor on \(tensor.device), "
                                              + "not on \(device)")
        }
    }

    /// Counts a call of `method` and runs `body` on host copies of `inputs`, giving its results
    /// in host memory.
    private func run(_ method: String, _ inputs: [Tensor?], _ body: ([Tensor?]) throws -> [Tensor?]) throws
        -> [Tensor?] {
        try begin(method, inputs)
        return try body(inputs.map { $0.map(host) })
    }

    /// ``run(_:_:_:)`` with the results moved to this device.
    private func emulate(_ method: String, _ inputs: [Tensor?], _ body: ([Tensor?]) throws -> [Tensor?]) throws
        -> [Tensor?] {
        try run(method, inputs, body).map { try $0?.to(device: device) }
    }

    /// ``emulate(_:_:_:)`` for one result, which must have `shape` when one is given; `nil`
    /// inputs are left out of the array `body` gets.
    private func emulate(_ method: String, _ inputs: Tensor?..., shape: [Int]? = nil,
                         body: ([Tensor]) throws -> Tensor) throws -> Tensor {
        let results = try emulate(method, inputs) { [try body($0.compactMap { $0 })] }
        return try Self.present(results[0], method, shape: shape)
    }

    /// Counts a call of `method`, recomputes `forward` on host copies of `inputs` followed by
    /// the host tensors `extra` (all made to require gradients) and back-propagates `gradient`
    /// through it; gives each of these leaves' gradients on this device (`nil` where none
    /// reached it).
    private func differentiate(_ method: String, _ gradient: Tensor, _ inputs: [Tensor], adding extra: [Tensor] = [],
                               _ forward: ([Tensor]) throws -> Tensor) throws -> [Tensor?] {
        let copies = try run(method, [gradient] + inputs) { $0 }.compactMap { $0 }
        let seed = copies[0], leaves = Array(copies.dropFirst()) + extra
        for leaf in leaves { leaf.requiringGrad() }
        // The core calls backward methods inside `withNoGrad`.
        try GradMode.withGrad {
            let output = try forward(leaves)
            guard output.shape == seed.shape else {
                throw KusariError.shapeMismatch("\(method): gradient \(seed.shape) for output \(output.shape)")
            }
            output.backward(seed)
        }
        return try leaves.map { try $0.grad?.to(device: device) }
    }

    /// A contiguous host copy of `tensor` (on this device).
    private func host(_ tensor: Tensor) -> Tensor {
        let copy = Tensor(uninitializedShape: tensor.shape, dtype: tensor.dtype)
        Self.copyElements(from: tensor, to: copy)
        return copy
    }

    /// Throws when one of `tensors` is not contiguous (the protocol promises it for `method`).
    private func expectContiguous(_ method: String, _ tensors: Tensor...) throws {
        for tensor in tensors where !tensor.isContiguous {
            throw KusariError.invalidArgument("\(method) got a non-contiguous \(tensor.shape) tensor "
                                              + "(strides \(tensor.strides))")
        }
    }

    /// Throws unless `tensors` share one float dtype (float32, float16 or bfloat16).
    private static func expectOneFloatDType(_ method: String, _ tensors: [Tensor]) throws {
        let dtypes = tensors.map(\.dtype)
        guard let first = dtypes.first, first.isFloatingPoint, dtypes.allSatisfy({ $0 == first }) else {
            throw KusariError.invalidArgument("\(method) got dtypes \(dtypes); expected one float dtype")
        }
    }

    /// `result` unwrapped, checked to have `shape` when one is given.
    private static func present(_ result: Tensor?, _ what: String, shape: [Int]? = nil) throws -> Tensor {
        guard let result, shape == nil || result.shape == shape else {
            let found = result.map { "\($0.shape)" } ?? "nothing"
            throw KusariError.shapeMismatch("\(what) gave \(found), expected \(shape ?? [])")
        }
        return result
    }

    /// Copies every element of `source` into `destination` (same shape and dtype, any strides;
    /// host memory or this device's, which is host memory too).
    private static func copyElements(from source: Tensor, to destination: Tensor) {
        let size = source.dtype.byteSize
        let from = source.storage.data + source.offset * size
        let to = destination.storage.data + destination.offset * size
        let shape = source.shape, rank = shape.count
        guard !shape.contains(0) else { return }
        var index = [Int](repeating: 0, count: rank)
        var (s, d) = (0, 0)
        while true {
            (to + d * size).copyMemory(from: from + s * size, byteCount: size)
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                s += source.strides[axis]
                d += destination.strides[axis]
                if index[axis] < shape[axis] { break }
                s -= source.strides[axis] * shape[axis]
                d -= destination.strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
            if axis < 0 { return }
        }
    }

    /// Throws unless every value of the integer tensor `indices` is in `0..<bound` or is `exception`.
    private static func checkIndices(_ indices: Tensor, below bound: Int, except exception: Int? = nil,
                                     _ what: String) throws {
        for value in indices.to(.int64).toArray(of: Int64.self)
        where !(0..<bound).contains(Int(value)) && Int(value) != exception {
            throw KusariError.invalidArgument("\(what) \(value) is outside 0..<\(bound)")
        }
    }

    // MARK: The CPU ops behind the layer methods

    private static func convolve(_ convolution: ConvolutionDescriptor, _ input: Tensor, _ weight: Tensor,
                                 _ bias: Tensor?) throws -> Tensor {
        guard convolution.outputShape.count == 4 else {
            throw KusariError.invalidArgument("convolution output shape \(convolution.outputShape)")
        }
        return Autocast.run(nil) { convolveOnHost(convolution, input, weight, bias) }
    }

    /// The CPU op itself, in the operands' dtype.
    private static func convolveOnHost(_ convolution: ConvolutionDescriptor, _ input: Tensor, _ weight: Tensor,
                                       _ bias: Tensor?) -> Tensor {
        if convolution.isTransposed {
            return convTranspose2d(input, weight, bias: bias, stride: convolution.stride, padding: convolution.padding,
                                   outputSize: Array(convolution.outputShape[2...]), dilation: convolution.dilation,
                                   groups: convolution.groups)
        }
        return conv2d(input, weight, bias: bias, stride: convolution.stride, padding: convolution.padding,
                      dilation: convolution.dilation, groups: convolution.groups)
    }

    /// Pooling with `ceilMode` exactly when the descriptor pads the end beyond `padding`.
    private static func pool(_ pooling: PoolingDescriptor, _ input: Tensor) -> Tensor {
        let ceilMode = zip(pooling.paddingEnd, pooling.padding).contains { $0 > $1 }
        switch pooling.kind {
        case .max:
            return maxPool2d(input, kernelSize: pooling.kernel, stride: pooling.stride, padding: pooling.padding,
                             ceilMode: ceilMode)
        case .average:
            return avgPool2d(input, kernelSize: pooling.kernel, stride: pooling.stride, padding: pooling.padding,
                             ceilMode: ceilMode, countIncludePad: pooling.countIncludesPadding)
        }
    }

    private static func activate(_ activation: Activation, _ input: Tensor) -> Tensor {
        switch activation {
        case .relu: return relu(input)
        case .leakyRelu(let slope): return leakyRelu(input, slope: slope)
        case .elu(let alpha): return elu(input, alpha: alpha)
        case .gelu: return gelu(input)
        }
    }
}
