import Kusari
import KusariNN

/// The four seed networks that `kusari bench train` times.
public enum BenchmarkModel: String, CaseIterable, Sendable {
    case theanoCNN = "theano-cnn"
    case tfCIFAR10 = "tf-cifar10"
    case vggCIFAR100 = "vgg-cifar100"
    case rcnnSVHN = "rcnn-svhn"

    /// The mini-batch size the seed used.
    public var seedBatchSize: Int {
        switch self {
        case .theanoCNN: return 100
        case .tfCIFAR10: return 128
        case .vggCIFAR100, .rcnnSVHN: return 64
        }
    }

    /// Input image shape `[C, H, W]`.
    public var inputShape: [Int] {
        self == .tfCIFAR10 ? [3, 24, 24] : [3, 32, 32]
    }

    /// Number of classes.
    public var classes: Int { self == .vggCIFAR100 ? 100 : 10 }

    /// A freshly initialised network, its weights drawn from `generator`.
    public func makeNetwork(generator: Generator = .default) -> Module & UnaryLayer {
        switch self {
        case .theanoCNN: return TheanoCNN(generator: generator)
        case .tfCIFAR10: return TFCIFAR10CNN(generator: generator)
        case .vggCIFAR100: return ChainerVGG(classes: classes, generator: generator)
        case .rcnnSVHN: return RCNN(steps: 4, channels: 128, classes: classes, generator: generator)
        }
    }
}
