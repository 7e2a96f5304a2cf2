import Kusari
import KusariNN

/// The CIFAR-10 CNN of the Theano seed (001): conv 5x5 (valid) → max-pool 4x4 → ReLU →
/// fully connected 1000 → ReLU → 10 classes.
public final class TheanoCNN: Module, UnaryLayer {
    public let conv: Conv2d
    public let fc1: Linear
    public let fc2: Linear

    /// - Parameters:
    ///   - channels: filters in the convolution (the seed tried 16, 64 and 256).
    ///   - generator: the stream the weights are drawn from.
    public init(channels: Int = 16, classes: Int = 10, generator: Generator = .default) {
        conv = Conv2d(3, channels, kernelSize: 5, generator: generator)
        fc1 = Linear(channels * 7 * 7, 1000, generator: generator)
        fc2 = Linear(1000, classes, generator: generator)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let features = relu(maxPool2d(conv(x), kernelSize: [4, 4]))
        return fc2(relu(fc1(features.flatten())))
    }
}
