import Kusari

/// A preprocessing or augmentation step applied to one image on a loader's worker threads.
///
/// Random transforms draw only from `random`, which the ``DataLoader`` seeds from
/// `(seed, epoch, position)`, so the result depends on neither thread scheduling nor worker
/// count. A transform must be a pure function of its input and `random`.
public protocol ImageTransform: Sendable {
    /// The transformed image (pixels float32, CHW; the label usually passes through).
    func apply(_ image: LabeledImage, random: inout ExampleRandom) -> LabeledImage
}

extension ImageTransform {
    /// Applies the transform with a fresh ``ExampleRandom`` for `(seed, epoch, position)`
    /// (convenient outside a loader: tests, prediction).
    public func apply(_ image: LabeledImage, seed: UInt64 = 0, epoch: Int = 0, position: Int = 0) -> LabeledImage {
        var random = ExampleRandom(seed: seed, epoch: epoch, position: position)
        return apply(image, random: &random)
    }
}

/// A transform applied to a whole mini-batch tensor `[N, C, H, W]` (or `[N, D]`) at once, such as
/// ZCA whitening, whose per-image cost is one matrix-vector product but which becomes a single
/// SGEMM per batch. Batch transforms are deterministic (no randomness).
public protocol BatchTransform: Sendable {
    /// The transformed batch, same shape as `batch`.
    func apply(batch: Tensor) -> Tensor
}

/// A transform whose parameters are fitted to training data and must be stored with the model
/// (mean image, per-channel statistics, ZCA matrix), as named tensors like a module's state.
public protocol FittedTransform {
    /// The fitted parameters as named tensors (save them next to the model's).
    func stateDict() -> [(String, Tensor)]
    /// Rebuilds the transform from ``stateDict()``.
    /// - Throws: ``DatasetError`` when an entry is missing or has the wrong shape.
    init(stateDict: [(String, Tensor)]) throws
}

/// Several transforms applied in order, each drawing from the same ``ExampleRandom`` in turn.
public struct Compose: ImageTransform {
    /// The transforms, first applied first.
    public let transforms: [any ImageTransform]

    /// Chains `transforms`, first applied first.
    public init(_ transforms: [any ImageTransform]) {
        self.transforms = transforms
    }

    /// Chains `transforms`, first applied first.
    public init(_ transforms: any ImageTransform...) {
        self.transforms = transforms
    }

    public func apply(_ image: LabeledImage, random: inout ExampleRandom) -> LabeledImage {
        var result = image
        for transform in transforms { result = transform.apply(result, random: &random) }
        return result
    }
}

/// Helpers shared by the transforms.
enum TransformSupport {
    /// `(channels, height, width)` of a CHW image, checking the rank.
    static func chw(_ image: LabeledImage, _ name: String) -> (c: Int, h: Int, w: Int) {
        precondition(image.shape.count == 3, "\(name): expected a [C, H, W] image, got shape \(image.shape)")
        return (image.shape[0], image.shape[1], image.shape[2])
    }

    /// The tensor stored under `key` in `state`, as float32 with `count` elements.
    static func floats(_ state: [(String, Tensor)], _ key: String, owner: String, count: Int? = nil) throws -> (values: [Float], shape: [Int]) {
        guard let tensor = state.first(where: { $0.0 == key })?.1 else {
            throw DatasetError(file: "\(owner) state", location: key,
                               message: "entry is missing, expected it among \(state.map(\.0))")
        }
        if let count, tensor.count != count {
            throw DatasetError(file: "\(owner) state", location: key,
                               message: "entry has shape \(tensor.shape) (\(tensor.count) values), expected \(count) values")
        }
        return (tensor.scalars, tensor.shape)
    }

    /// The image shape stored under `"shape"`, as positive integers.
    static func shape(_ state: [(String, Tensor)], owner: String) throws -> [Int] {
        let (values, _) = try floats(state, "shape", owner: owner)
        let shape = values.map { Int($0) }
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else {
            throw DatasetError(file: "\(owner) state", location: "shape", message: "entry is \(shape), expected positive sizes")
        }
        return shape
    }

    /// `shape` as an int64 tensor.
    static func shapeTensor(_ shape: [Int]) -> Tensor {
        Tensor(shape.map { Int64($0) }, shape: [shape.count])
    }
}
