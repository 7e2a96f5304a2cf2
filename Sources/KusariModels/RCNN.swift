import Kusari
import KusariNN

/// The recurrent convolutional network of the SVHN seed (000), RCNN(T, K, C):
/// conv 5x5 → ReLU → BN → max-pool 3/2 → dropout; four RCL(T, K) blocks each followed by BN
/// (with max-pool 3/2 after the second and dropout after the first three); then the maximum over
/// the channel axis (the post's `F.max(h, axis=1)`, giving 8x8 features) → linear C.
public final class RCNN: Module, UnaryLayer {
    public let conv1: Conv2d
    public let rcl2: RCL, rcl3: RCL, rcl4: RCL, rcl5: RCL
    public let bnorm1: BatchNorm, bnorm2: BatchNorm, bnorm3: BatchNorm, bnorm4: BatchNorm, bnorm5: BatchNorm
    public let l6: Linear
    public let dropout: Dropout

    /// - Parameter generator: the stream the weights are drawn from (dropout uses `Generator.default`).
    public init(steps: Int = 4, channels: Int = 128, classes: Int = 10, dropoutRate: Float = 0.5,
                generator: Generator = .default) {
        conv1 = Conv2d(3, channels, kernelSize: 5, padding: 2, generator: generator)
        rcl2 = RCL(steps: steps, channels: channels, generator: generator)
        rcl3 = RCL(steps: steps, channels: channels, generator: generator)
        rcl4 = RCL(steps: steps, channels: channels, generator: generator)
        rcl5 = RCL(steps: steps, channels: channels, generator: generator)
        bnorm1 = BatchNorm(channels); bnorm2 = BatchNorm(channels); bnorm3 = BatchNorm(channels)
        bnorm4 = BatchNorm(channels); bnorm5 = BatchNorm(channels)
        l6 = Linear(8 * 8, classes, generator: generator)
        dropout = Dropout(dropoutRate)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = bnorm1(relu(conv1(x)))
        h = dropout(maxPool2d(h, kernelSize: [3, 3], stride: [2, 2], ceilMode: true))
        h = dropout(bnorm2(rcl2(h)))
        h = dropout(maxPool2d(bnorm3(rcl3(h)), kernelSize: [3, 3], stride: [2, 2], ceilMode: true))
        h = dropout(bnorm4(rcl4(h)))
        h = bnorm5(rcl5(h))
        return l6(h.max(axis: 1).flatten())
    }
}
