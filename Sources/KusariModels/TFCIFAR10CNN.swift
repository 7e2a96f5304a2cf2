import Kusari
import KusariNN

/// The TensorFlow CIFAR-10 tutorial model (003), 1,068,298 parameters, on 24x24 crops:
/// conv 5x5x64 → ReLU → max-pool 3/2 → LRN → conv 5x5x64 → ReLU → LRN → max-pool 3/2 →
/// fc 384 → fc 192 → linear 10.
///
/// TensorFlow's 'SAME' pooling (24 → 12 → 6) is ceil-mode pooling here, and its LRN
/// (`depth_radius` 4, `alpha` 0.001 / 9 per element) is a size-9 window with `alpha` 0.001.
/// Initialisation is the tutorial's: truncated normals with standard deviation 0.05 (convs),
/// 0.04 (fc 384, fc 192) and 1/192 (last layer); biases 0 (conv1, last layer) or 0.1.
public final class TFCIFAR10CNN: Module, UnaryLayer {
    public let conv1: Conv2d
    public let conv2: Conv2d
    public let local3: Linear
    public let local4: Linear
    public let softmaxLinear: Linear

    /// The parameters the tutorial applies its L2 weight decay (0.004) to: the weights of the two
    /// hidden fully connected layers.
    public static let weightDecayedParameters = ["local3.W", "local4.W"]

    /// - Parameter generator: the stream the weights are drawn from.
    public init(classes: Int = 10, generator: Generator = .default) {
        conv1 = Conv2d(3, 64, kernelSize: 5, padding: 2, initializer: .truncatedNormal(std: 0.05), generator: generator)
        conv2 = Conv2d(64, 64, kernelSize: 5, padding: 2, initializer: .truncatedNormal(std: 0.05),
                       biasInitializer: .constant(0.1), generator: generator)
        local3 = Linear(64 * 6 * 6, 384, initializer: .truncatedNormal(std: 0.04), biasInitializer: .constant(0.1),
                        generator: generator)
        local4 = Linear(384, 192, initializer: .truncatedNormal(std: 0.04), biasInitializer: .constant(0.1),
                        generator: generator)
        softmaxLinear = Linear(192, classes, initializer: .truncatedNormal(std: 1.0 / 192), generator: generator)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = maxPool2d(relu(conv1(x)), kernelSize: [3, 3], stride: [2, 2], ceilMode: true)
        h = localResponseNorm(h, size: 9, alpha: 0.001, beta: 0.75, k: 1)
        h = localResponseNorm(relu(conv2(h)), size: 9, alpha: 0.001, beta: 0.75, k: 1)
        h = maxPool2d(h, kernelSize: [3, 3], stride: [2, 2], ceilMode: true)
        return softmaxLinear(relu(local4(relu(local3(h.flatten())))))
    }
}
