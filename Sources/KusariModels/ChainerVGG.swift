import Kusari
import KusariNN

/// Chainer's `examples/cifar` VGG (the CIFAR-100 seed, 004): blocks of conv 3x3 (no bias) →
/// BatchNorm → ReLU in groups of 64,64 | 128,128 | 256x3 | 512x3 | 512x3 with max-pool 2x2
/// after each group, dropout 0.3 after the first block and 0.4 between the other blocks of a
/// group, then dropout 0.5 → fc 512 (no bias) → BN → ReLU → dropout 0.5 → fc classes (no bias,
/// as in Chainer's file).
public final class ChainerVGG: Module, UnaryLayer {
    /// conv 3x3 (no bias) → BatchNorm → ReLU.
    public final class Block: Module, UnaryLayer {
        public let conv: Conv2d
        public let bn: BatchNorm

        public init(_ inChannels: Int, _ outChannels: Int, generator: Generator = .default) {
            conv = Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, bias: false, generator: generator)
            bn = BatchNorm(outChannels)
            super.init()
        }

        public func callAsFunction(_ x: Tensor) -> Tensor { relu(bn(conv(x))) }
    }

    /// Output channels of each group of blocks.
    static let groups = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]

    public let blocks: [Block]
    public let fc1: Linear
    public let bnFC1: BatchNorm
    public let fc2: Linear

    /// - Parameter generator: the stream the weights are drawn from (dropout uses `Generator.default`).
    public init(classes: Int = 100, generator: Generator = .default) {
        var blocks: [Block] = []
        var inChannels = 3
        for group in Self.groups {
            for channels in group {
                blocks.append(Block(inChannels, channels, generator: generator))
                inChannels = channels
            }
        }
        self.blocks = blocks
        fc1 = Linear(512, 512, bias: false, generator: generator)
        bnFC1 = BatchNorm(512)
        fc2 = Linear(512, classes, bias: false, generator: generator)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        var index = 0
        for (groupIndex, group) in Self.groups.enumerated() {
            for position in group.indices {
                h = blocks[index](h)
                index += 1
                if position < group.count - 1 {
                    h = dropout(h, rate: groupIndex == 0 ? 0.3 : 0.4, training: isTraining)
                }
            }
            h = maxPool2d(h, kernelSize: [2, 2])
        }
        h = dropout(h.flatten(), rate: 0.5, training: isTraining)
        h = relu(bnFC1(fc1(h)))
        return fc2(dropout(h, rate: 0.5, training: isTraining))
    }
}
