import Foundation
import Kusari

/// How a layer fills a new weight or bias, with Chainer's definitions (`chainer.initializers`).
///
/// Fans follow Chainer's `get_fans` (and PyTorch's): for a shape `[a, b, k…]`,
/// `fanIn = b · ∏k` and `fanOut = a · ∏k`. That is `inputSize` / `outputSize` for a linear weight
/// `[out, in]`, `Cin/groups · kh · kw` for a convolution weight `[Cout, Cin/groups, kh, kw]`, and
/// `Cout/groups · kh · kw` for a transposed-convolution weight `[Cin, Cout/groups, kh, kw]`.
public enum Initializer: Sendable, Equatable {
    /// Normal with standard deviation `sqrt(1 / fanIn)` (Chainer's default for weights).
    case lecunNormal
    /// Uniform on `±sqrt(3 / fanIn)`.
    case lecunUniform
    /// Normal with standard deviation `sqrt(2 / fanIn)` (He et al., for ReLU networks).
    case heNormal
    /// Uniform on `±sqrt(6 / fanIn)`.
    case heUniform
    /// Normal with standard deviation `sqrt(2 / (fanIn + fanOut))` (Glorot & Bengio).
    case glorotNormal
    /// Uniform on `±sqrt(6 / (fanIn + fanOut))`.
    case glorotUniform
    /// Normal with mean 0 and standard deviation `std` (Chainer's `Normal(scale)`).
    case normal(std: Float)
    /// Normal with mean 0 and standard deviation `std`, truncated to `±2 std` (TensorFlow's
    /// `truncated_normal`): values outside are drawn again. The result's standard deviation is
    /// about `0.88 std`.
    case truncatedNormal(std: Float)
    /// Uniform on `[-scale, scale)` (Chainer's `Uniform(scale)`).
    case uniform(scale: Float)
    /// Every element equal to the value.
    case constant(Float)
    /// Every element zero.
    case zeros

    /// Chainer's fans of a weight shape; for shapes of rank < 2 both fans are the element count.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        guard shape.count >= 2 else {
            let count = shape.reduce(1, *)
            return (count, count)
        }
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// A new float32 tensor of `shape` filled by this initializer, drawing from `generator`.
    /// The tensor does not require gradients; layers mark their parameters themselves.
    public func makeTensor(_ shape: [Int], generator: Generator = .default) -> Tensor {
        let (fanIn, fanOut) = Initializer.fans(shape)
        func bound(_ numerator: Float, _ fan: Int) -> Float { (numerator / Float(Swift.max(fan, 1))).squareRoot() }
        switch self {
        case .lecunNormal: return Tensor.normal(shape, mean: 0, std: bound(1, fanIn), generator: generator)
        case .lecunUniform: return symmetricUniform(shape, bound(3, fanIn), generator)
        case .heNormal: return Tensor.normal(shape, mean: 0, std: bound(2, fanIn), generator: generator)
        case .heUniform: return symmetricUniform(shape, bound(6, fanIn), generator)
        case .glorotNormal: return Tensor.normal(shape, mean: 0, std: bound(2, fanIn + fanOut), generator: generator)
        case .glorotUniform: return symmetricUniform(shape, bound(6, fanIn + fanOut), generator)
        case .normal(let std): return Tensor.normal(shape, mean: 0, std: std, generator: generator)
        case .truncatedNormal(let std): return truncatedNormal(shape, std, generator)
        case .uniform(let scale): return symmetricUniform(shape, scale, generator)
        case .constant(let value): return Tensor.full(shape, value)
        case .zeros: return Tensor.zeros(shape)
        }
    }

    /// Overwrites the (contiguous, float32) `tensor` in place with fresh values.
    public func initialize(_ tensor: Tensor, generator: Generator = .default) {
        tensor.assign(makeTensor(tensor.shape, generator: generator))
    }

    /// Draws normals and redraws, in one further batch per round, those beyond `±2 std`; after 32
    /// rounds (probability ≈ 0.046³² per element) any left are clamped.
    private func truncatedNormal(_ shape: [Int], _ std: Float, _ generator: Generator) -> Tensor {
        let limit = 2 * std
        var values = Tensor.normal(shape, mean: 0, std: std, generator: generator).scalars
        var outside = values.indices.filter { Swift.abs(values[$0]) > limit }
        var round = 0
        while !outside.isEmpty && round < 32 {
            let redraw = Tensor.normal([outside.count], mean: 0, std: std, generator: generator).scalars
            for (index, value) in zip(outside, redraw) { values[index] = value }
            outside = outside.filter { Swift.abs(values[$0]) > limit }
            round += 1
        }
        for index in outside { values[index] = Swift.min(Swift.max(values[index], -limit), limit) }
        return Tensor(values, shape: shape)
    }

    private func symmetricUniform(_ shape: [Int], _ limit: Float, _ generator: Generator) -> Tensor {
        Tensor.uniform(shape, low: -limit, high: limit, generator: generator)
    }
}

/// A new trainable leaf tensor filled by `initializer` (a layer parameter).
func makeParameter(_ shape: [Int], _ initializer: Initializer, generator: Generator) -> Tensor {
    initializer.makeTensor(shape, generator: generator).requiringGrad()
}
