import Kusari

/// In-memory image-classification data stored as float32 values in CHW order: images that were
/// preprocessed once for the whole dataset (the Theano seed whitens CIFAR-10 once, before
/// training, rather than every mini-batch).
public struct FloatImageDataset: Dataset {
    /// `count * C * H * W` values.
    public let values: [Float]
    public let labels: [Int32]
    /// `[C, H, W]`.
    public let imageShape: [Int]
    public let classNames: [String]

    public init(values: [Float], labels: [Int32], imageShape: [Int], classNames: [String]) {
        precondition(values.count == labels.count * imageShape.reduce(1, *),
                     "FloatImageDataset: \(values.count) values for \(labels.count) images of \(imageShape)")
        self.values = values
        self.labels = labels
        self.imageShape = imageShape
        self.classNames = classNames
    }

    public var count: Int { labels.count }
    /// Values per image.
    public var imageSize: Int { imageShape.reduce(1, *) }

    public func example(at index: Int) -> LabeledImage {
        let start = index * imageSize
        return LabeledImage(pixels: Array(values[start..<(start + imageSize)]), shape: imageShape, label: Int(labels[index]))
    }
}

extension ImageDataset {
    /// Every image as floats (scaled by ``scale``) with `transform` applied to whole chunks of
    /// images at once: the dataset preprocessed once, for example by ``ZCAWhitening``.
    public func preprocessed(by transform: any BatchTransform, chunk: Int = 1_000) -> FloatImageDataset {
        let size = imageSize
        var values = [Float](repeating: 0, count: images.count)
        var start = 0
        while start < count {
            let n = Swift.min(chunk, count - start)
            let batch = Tensor(images[(start * size)..<((start + n) * size)].map { Float($0) * scale },
                               shape: [n] + imageShape)
            let output = transform.apply(batch: batch).contiguous()
            output.withUnsafeFloats { out in
                for i in 0..<(n * size) { values[start * size + i] = out[i] }
            }
            start += n
        }
        return FloatImageDataset(values: values, labels: labels, imageShape: imageShape, classNames: classNames)
    }
}
