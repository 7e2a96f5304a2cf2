import Foundation
import Kusari

extension CUDABackend {
    /// Per-row softmax cross-entropy of float32 `[rows, classes]` `logits` against int32/int64
    /// `labels` (`[rows]`), in one kernel with a block per row: the losses
    /// `log Σ exp(x - max) + max - x[label]` (0 where the label is `ignoreIndex`) and
    /// `softmax − onehot` (zero rows where ignored), with the CPU's formulas.
    ///
    /// Does not wait for the kernel: a label outside `0..<classes` (and not `ignoreIndex`) is
    /// reported by the next copy to or from the host (see ``DeferredChecks``), as an
    /// ``Kusari/KusariError/invalidArgument(_:)`` naming the first such row, as the CPU does.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for mismatched shapes, dtypes or
    ///   devices; ``CUDAError`` when the launch fails.
    public func softmaxCrossEntropy(logits: Tensor, labels: Tensor, ignoreIndex: Int) throws
        -> (losses: Tensor, gradient: Tensor) {
        try expectFloat32(logits, "logits")
        try expectIndices(labels, "labels")
        guard logits.rank == 2, labels.count == logits.shape[0] else {
            throw KusariError.shapeMismatch("softmaxCrossEntropy needs [rows, classes] logits and one label per row, "
                                            + "got \(logits.shape) and \(labels.shape)")
        }
        let (rows, classes) = (logits.shape[0], logits.shape[1])
        let x = try denseOnDevice(logits, "logits"), target = try denseOnDevice(labels, "labels")
        let losses = try Tensor(uninitializedShape: [rows], dtype: .float32, on: self)
        let gradient = try Tensor(uninitializedShape: [rows, classes], dtype: .float32, on: self)
        guard rows > 0 else { return (losses, gradient) }
        let bad = try badPositionFlag()
        try launchRows("kusari_softmax_cross_entropy_f32_\(Self.suffix(labels.dtype))", in: .crossEntropy, rows: rows,
                       work: classes, maxThreads: 512,
                       [.pointer(Self.address(x)), .pointer(Self.address(target)), .pointer(Self.address(losses)),
                        .pointer(Self.address(gradient)), .buffer(bad), .count(rows), .count(classes),
                        .int64(Int64(ignoreIndex))])
        try checkLater(bad) { [self] row in
            let label = try hostIndex(target, at: row)
            throw KusariError.invalidArgument("softmaxCrossEntropy label \(label) at row \(row) is outside "
                                              + "0..<\(classes)")
        }
        return (losses, gradient)
    }
}
