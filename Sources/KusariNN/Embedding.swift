import Kusari

/// Looks up rows of a learned table by integer index (Chainer's `L.EmbedID`, PyTorch's
/// `nn.Embedding`): indices of any shape `S` (int32 or int64) give vectors of shape `S + [dimension]`.
///
/// Parameter `W` `[count, dimension]`, standard normal by default like Chainer's `EmbedID`.
public final class Embedding: Module, UnaryLayer {
    /// The table `[count, dimension]`.
    public let W: Tensor

    /// Number of rows (vocabulary size).
    public var count: Int { W.shape[0] }
    /// Length of each vector.
    public var dimension: Int { W.shape[1] }

    /// A `count × dimension` table drawn from `initializer`.
    public init(_ count: Int, _ dimension: Int, initializer: Initializer = .normal(std: 1),
                generator: Generator = .default) {
        W = makeParameter([count, dimension], initializer, generator: generator)
        super.init()
    }

    /// The rows of `W` selected by `indices`.
    public func callAsFunction(_ indices: Tensor) -> Tensor { embedding(indices, W) }
}
