import Kusari
import KusariNN

/// The small CNN of the default `shapes-cnn` recipe: two conv–BN–ReLU–pool stages on 32x32 RGB,
/// global average pooling and a linear classifier.
public final class ShapesCNN: Module, UnaryLayer {
    public let conv1: Conv2d, bn1: BatchNorm
    public let conv2: Conv2d, bn2: BatchNorm
    public let conv3: Conv2d, bn3: BatchNorm
    public let fc: Linear

    /// - Parameter generator: the stream the weights are drawn from.
    public init(classes: Int = 10, generator: Generator = .default) {
        conv1 = Conv2d(3, 32, kernelSize: 3, padding: 1, bias: false, generator: generator); bn1 = BatchNorm(32)
        conv2 = Conv2d(32, 64, kernelSize: 3, padding: 1, bias: false, generator: generator); bn2 = BatchNorm(64)
        conv3 = Conv2d(64, 64, kernelSize: 3, padding: 1, bias: false, generator: generator); bn3 = BatchNorm(64)
        fc = Linear(64, classes, generator: generator)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = maxPool2d(relu(bn1(conv1(x))), kernelSize: [2, 2])
        h = maxPool2d(relu(bn2(conv2(h))), kernelSize: [2, 2])
        h = relu(bn3(conv3(h)))
        return fc(globalAvgPool2d(h))
    }
}

/// Chainer's MNIST example network: 784 → 1000 → 1000 → 10 with ReLU.
public final class MLP: Module, UnaryLayer {
    public let l1: Linear, l2: Linear, l3: Linear

    /// - Parameter generator: the stream the weights are drawn from.
    public init(inputs: Int = 784, units: Int = 1000, classes: Int = 10, generator: Generator = .default) {
        l1 = Linear(inputs, units, generator: generator)
        l2 = Linear(units, units, generator: generator)
        l3 = Linear(units, classes, generator: generator)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { l3(relu(l2(relu(l1(x.flatten()))))) }
}
