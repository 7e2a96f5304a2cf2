import Kusari
import KusariNN

/// The TensorFlow CIFAR-10 tutorial model (003), 1,068,298 parameters, on 24x24 crops:
/// conv 5x5x64 → ReLU → max-pool 3/2 → LRN → conv 5x5x64 → ReLU → LRN → max-pool 3/2 →
/// fc 384 → fc 192 → linear 10.
///
/// TensorFlow's 'SAME' pooling (24 → 12 → 6) is ceil-mode pooling here, and its LRN
/// (`depth_radius` 4, `alpha` 0.001 / 9 per element) is a size-9 window with `alpha` 0.001.
public final class TFCIFAR10CNN: Module, UnaryLayer {
    public let conv1: Conv2d
    public let conv2: Conv2d
    public let local3: Linear
    public let local4: Linear
    public let softmaxLinear: Linear

    public init(classes: Int = 10) {
        conv1 = Conv2d(3, 64, kernelSize: 5, padding: 2)
        conv2 = Conv2d(64, 64, kernelSize: 5, padding: 2)
        local3 = Linear(64 * 6 * 6, 384)
        local4 = Linear(384, 192)
        softmaxLinear = Linear(192, classes)
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
