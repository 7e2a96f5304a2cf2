/// The ops a GPU backend runs so that tensors on its device support the same API as CPU tensors.
///
/// The core keeps the autodiff graph: each public op checks where its inputs live and, for a
/// device tensor, calls the matching method here instead of its CPU kernel; gradients are built
/// from these same primitives (and the `…Backward` methods), so training works unchanged on the
/// device. Every tensor handed to a method is on ``DeviceBackend/device``; every tensor returned
/// must be too, contiguous unless stated otherwise. Results are allocated with
/// ``Tensor/init(uninitializedShape:dtype:on:)``. Methods queue their work and may return
/// before it finishes; reading data back (``DeviceBackend/copy(fromDevice:toHost:byteCount:)``)
/// waits for it.
public protocol DeviceOperations: DeviceBackend {
    // MARK: Memory

    /// Sets every element of the contiguous `tensor` (any dtype, float16 and bfloat16 included) to
    /// `value` converted to its dtype (rounded to nearest even for float16/bfloat16, toward zero
    /// for the integer dtypes).
    func fill(_ tensor: Tensor, with value: Float) throws
    /// Copies `source` (any strides, rank ≤ 6) into `destination` (same shape and dtype, any
    /// strides); 2-byte dtypes included.
    func copy(_ source: Tensor, into destination: Tensor) throws
    /// A contiguous copy of the contiguous `source` converted to `dtype`: between any two of
    /// float32, float16 and bfloat16 (rounded to nearest even, NaN kept, float16 overflow to
    /// ±infinity, widening exact, as the CPU does), and between float32 and the integer dtypes
    /// (values rounded toward zero when converting floats to integers). The core converts
    /// between integers and float16/bfloat16 through float32.
    func convert(_ source: Tensor, to dtype: DType) throws -> Tensor

    // MARK: Elementwise

    /// `operation(x)` for a contiguous float32 `x`.
    func unary(_ operation: UnaryOperation, _ x: Tensor) throws -> Tensor
    /// `operation(a, b)` with NumPy broadcasting to `shape`; `a` and `b` are float32 with any
    /// strides. Comparisons give `uint8` 0/1, arithmetic float32.
    func binary(_ operation: BinaryOperation, _ a: Tensor, _ b: Tensor, shape: [Int]) throws -> Tensor

    // MARK: Reductions and products

    /// Reduces the contiguous float32 `x`, viewed as `[outer, length, inner]`, along its middle
    /// axis to `[outer, inner]`. `.max`/`.min` also give the int64 position of the first extreme
    /// (NaN counts as the extreme), `.sum` gives `nil` indices. Sums add in index order.
    func reduce(_ operation: ReductionOperation, _ x: Tensor, outer: Int, length: Int, inner: Int) throws
        -> (values: Tensor, indices: Tensor?)
    /// `output = a @ b + beta * output` for matrices `a` `[m, k]` and `b` `[k, n]` given as
    /// row-major or transposed row-major views (one unit stride each), into the contiguous
    /// `[m, n]` `output`. `a` and `b` share a dtype, float32, float16 or bfloat16 (the latter two
    /// under ``Autocast``: products accumulate in float32); `output` is always float32.
    func matmul(_ a: Tensor, _ b: Tensor, into output: Tensor, beta: Float) throws

    // MARK: Neural-network layers

    /// Convolution or transposed convolution forward; `weight` is in the user's (PyTorch) layout.
    /// `input`, `weight` and `bias` share one dtype, float32, float16 or bfloat16 (the latter two
    /// under ``Autocast``: accumulate in float32); the output has that dtype.
    func convolutionForward(_ convolution: ConvolutionDescriptor, input: Tensor, weight: Tensor,
                            bias: Tensor?) throws -> Tensor
    /// The gradients of ``convolutionForward(_:input:weight:bias:)`` asked for by `needed`
    /// (input, weight, bias), `nil` for the others. `gradient`, `input` and `weight` share one
    /// dtype (float32, float16 or bfloat16), and so do the gradients returned.
    func convolutionBackward(_ convolution: ConvolutionDescriptor, gradient: Tensor, input: Tensor, weight: Tensor,
                             needed: (input: Bool, weight: Bool, bias: Bool)) throws
        -> (input: Tensor?, weight: Tensor?, bias: Tensor?)
    /// Max or average pooling forward of NCHW `input`.
    func poolingForward(_ pooling: PoolingDescriptor, input: Tensor) throws -> Tensor
    /// The input gradient of pooling, from the forward's `input`, `output` and output `gradient`.
    func poolingBackward(_ pooling: PoolingDescriptor, gradient: Tensor, input: Tensor, output: Tensor) throws -> Tensor
    /// Batch normalisation of `[N, C]` or `[N, C, H, W]` `input` over all axes but 1.
    ///
    /// In training it uses the batch statistics, returns them (`mean`, and `inverseStd` =
    /// `1 / sqrt(var + eps)` with the biased variance) for the backward pass, and updates the
    /// running statistics in place when given (the unbiased variance enters `runningVar`). Otherwise
    /// it normalises with the running statistics and returns `nil` statistics.
    func batchNormForward(input: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                          training: Bool, momentum: Float, eps: Float) throws
        -> (output: Tensor, mean: Tensor?, inverseStd: Tensor?)
    /// Gradients of training-mode batch normalisation for input, weight and bias (the last two
    /// `nil` when `weight` is `nil`).
    func batchNormBackward(gradient: Tensor, input: Tensor, weight: Tensor?, mean: Tensor, inverseStd: Tensor,
                           eps: Float) throws -> (input: Tensor, weight: Tensor?, bias: Tensor?)
    /// Cross-channel local response normalisation, ``localResponseNorm(_:size:alpha:beta:k:)``'s formula.
    func localResponseNormForward(input: Tensor, size: Int, alpha: Float, beta: Float, k: Float) throws -> Tensor
    /// The input gradient of ``localResponseNormForward(input:size:alpha:beta:k:)``.
    func localResponseNormBackward(gradient: Tensor, input: Tensor, output: Tensor, size: Int, alpha: Float,
                                   beta: Float, k: Float) throws -> Tensor
    /// An activation of the contiguous float32 `input`.
    func activationForward(_ activation: Activation, input: Tensor) throws -> Tensor
    /// The input gradient of an activation, from its forward `input` and output `gradient`.
    func activationBackward(_ activation: Activation, gradient: Tensor, input: Tensor) throws -> Tensor
    /// Softmax (or log-softmax) of the contiguous `input` viewed as `[outer, length, inner]`,
    /// along the middle axis.
    func softmaxForward(input: Tensor, outer: Int, length: Int, inner: Int, log: Bool) throws -> Tensor
    /// The input gradient of softmax from its forward `output` and the output `gradient`.
    func softmaxBackward(gradient: Tensor, output: Tensor, outer: Int, length: Int, inner: Int, log: Bool) throws -> Tensor
    /// Per-row softmax cross-entropy of contiguous `[rows, classes]` float32 `logits` against
    /// int32/int64 `labels` (`[rows]`): the loss per row (0 where the label is `ignoreIndex`) and
    /// `softmax − onehot` per row (zero rows where ignored). A label outside `0..<classes`
    /// other than `ignoreIndex` must make the call throw.
    func softmaxCrossEntropy(logits: Tensor, labels: Tensor, ignoreIndex: Int) throws
        -> (losses: Tensor, gradient: Tensor)

    // MARK: Indexing and randomness

    /// Rows of the contiguous `[rows, width]` `table` picked by the int32/int64 `indices`,
    /// giving `[indices.count, width]`. An index outside `0..<rows` must make the call throw.
    func gatherRows(_ table: Tensor, indices: Tensor) throws -> Tensor
    /// `[rows, width]` zeros plus every row of the contiguous `source` (`[indices.count, width]`)
    /// added at its index, in index order when `deterministic`.
    func scatterAddRows(_ source: Tensor, indices: Tensor, rows: Int, deterministic: Bool) throws -> Tensor
    /// Values of the distribution drawn from the Philox stream `key`, starting at element
    /// `offset` (the generator's position), exactly as the CPU draws them.
    func random(_ distribution: RandomDistribution, shape: [Int], dtype: DType, key: UInt64, offset: UInt64) throws -> Tensor
}

/// Unary elementwise math on a device.
public enum UnaryOperation: String, Sendable, CaseIterable {
    case exp, log, sqrt, abs, sign, sin, cos, tanh, sigmoid, softplus
}

/// Binary elementwise operations on a device; the comparisons give 0/1 as `uint8`.
public enum BinaryOperation: String, Sendable, CaseIterable {
    case add, sub, mul, div, maximum, minimum, pow
    case equal, notEqual, greater, greaterEqual, less, lessEqual

    /// Whether the result is a `uint8` mask rather than float32 values.
    public var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .greater, .greaterEqual, .less, .lessEqual: return true
        default: return false
        }
    }
}

/// Reductions along one axis on a device.
public enum ReductionOperation: String, Sendable, CaseIterable {
    case sum, max, min
}

/// Activations with a dedicated backward pass.
public enum Activation: Sendable, Equatable {
    /// `max(x, 0)`, NaN preserved.
    case relu
    /// `x` for positive `x`, `slope · x` otherwise.
    case leakyRelu(slope: Float)
    /// `x` for positive `x`, `alpha · (exp(x) − 1)` otherwise.
    case elu(alpha: Float)
    /// `x · Φ(x)` (erf form).
    case gelu
}

/// A distribution drawn from the counter-based generator.
public enum RandomDistribution: Sendable, Equatable {
    /// Uniform on `[low, high)`.
    case uniform(low: Float, high: Float)
    /// Normal with the given mean and standard deviation.
    case normal(mean: Float, std: Float)
    /// `value` with the given probability, else 0.
    case bernoulli(probability: Float, value: Float)
    /// Integers uniform on `low..<high`.
    case integers(low: Int, high: Int)
}

/// Sizes of a 2-d convolution or transposed convolution, as a device backend needs them.
public struct ConvolutionDescriptor: Sendable, Hashable {
    /// Whether this is a transposed convolution (weights `[Cin, Cout/groups, kh, kw]`).
    public let isTransposed: Bool
    /// Input `[N, Cin, H, W]`.
    public let inputShape: [Int]
    /// Output `[N, Cout, H', W']`.
    public let outputShape: [Int]
    /// The user's weight shape: `[Cout, Cin/groups, kh, kw]`, or `[Cin, Cout/groups, kh, kw]` transposed.
    public let weightShape: [Int]
    public let stride: [Int], padding: [Int], dilation: [Int]
    public let groups: Int
}

/// Sizes of a 2-d pooling window, with the end padding that `ceilMode` adds.
public struct PoolingDescriptor: Sendable, Hashable {
    /// Max or average.
    public enum Kind: String, Sendable { case max, average }
    public let kind: Kind
    /// Whether padded positions count in an average's divisor (never the extra end padding
    /// beyond `padding`).
    public let countIncludesPadding: Bool
    /// Input `[N, C, H, W]` and output `[N, C, H', W']`.
    public let inputShape: [Int], outputShape: [Int]
    public let kernel: [Int], stride: [Int], padding: [Int], paddingEnd: [Int]
}
