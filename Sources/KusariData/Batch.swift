import Kusari

/// A mini-batch: inputs float32 `[N, C, H, W]` (or `[N, D]`) and int32 labels `[N]`.
public struct Batch: @unchecked Sendable {
    public let inputs: Tensor
    public let labels: Tensor

    public init(inputs: Tensor, labels: Tensor) {
        precondition(inputs.shape.first == labels.shape.first, "Batch: \(inputs.shape) inputs vs \(labels.shape) labels")
        self.inputs = inputs
        self.labels = labels
    }

    /// Number of examples.
    public var count: Int { labels.shape.first ?? 0 }
}

/// A source of mini-batches for the trainer (Chainer's iterator). A repeating source never
/// returns `nil`; a non-repeating one returns `nil` after one pass, and ``reset()`` starts the
/// next pass.
public protocol BatchSource: AnyObject {
    /// The next mini-batch.
    func next() -> Batch?
    /// Completed epochs.
    var epoch: Int { get }
    /// Whether the last batch completed an epoch.
    var isNewEpoch: Bool { get }
    /// `epoch` plus the fraction of the current epoch done.
    var epochDetail: Double { get }
    /// Mini-batches in one epoch.
    var batchesPerEpoch: Int { get }
    /// Examples per mini-batch.
    var batchSize: Int { get }
    /// Starts over from the first batch of a new pass.
    func reset()
    /// Position and random state, so a snapshot resumes exactly (also mid-epoch).
    func stateDict() -> [(String, Tensor)]
    /// Restores ``stateDict()``.
    func loadStateDict(_ state: [(String, Tensor)]) throws
}
