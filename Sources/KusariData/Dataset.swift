import Kusari

/// An indexable collection of examples (Chainer's dataset): `example(at:)` must be safe to call
/// from several loader threads at once.
public protocol Dataset: Sendable {
    associatedtype Example: Sendable
    /// Number of examples.
    var count: Int { get }
    /// The example at `index` in `0..<count`.
    func example(at index: Int) -> Example
}

/// One image with its class label; pixels are float32 in CHW order.
public struct LabeledImage: Sendable, Equatable {
    public var pixels: [Float]
    /// `[C, H, W]`.
    public var shape: [Int]
    public var label: Int

    public init(pixels: [Float], shape: [Int], label: Int) {
        precondition(pixels.count == shape.reduce(1, *), "LabeledImage: \(pixels.count) pixels do not fill \(shape)")
        self.pixels = pixels
        self.shape = shape
        self.label = label
    }
}

/// In-memory image-classification data: images stored as bytes in CHW order, with labels and
/// class names. ``example(at:)`` returns pixels as floats multiplied by ``scale`` (1/255 by
/// default, giving [0, 1] like Chainer's `get_cifar10`).
public struct ImageDataset: Dataset {
    /// `count * C * H * W` bytes.
    public let images: [UInt8]
    public let labels: [Int32]
    /// `[C, H, W]`.
    public let imageShape: [Int]
    public let classNames: [String]
    public var scale: Float

    public init(images: [UInt8], labels: [Int32], imageShape: [Int], classNames: [String], scale: Float = 1 / 255) {
        precondition(images.count == labels.count * imageShape.reduce(1, *),
                     "ImageDataset: \(images.count) bytes for \(labels.count) images of \(imageShape)")
        self.images = images
        self.labels = labels
        self.imageShape = imageShape
        self.classNames = classNames
        self.scale = scale
    }

    public var count: Int { labels.count }
    /// Bytes per image.
    public var imageSize: Int { imageShape.reduce(1, *) }

    public func example(at index: Int) -> LabeledImage {
        let start = index * imageSize
        let pixels = images[start..<(start + imageSize)].map { Float($0) * scale }
        return LabeledImage(pixels: pixels, shape: imageShape, label: Int(labels[index]))
    }

    /// The examples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> ImageDataset {
        var bytes = [UInt8]()
        bytes.reserveCapacity(indices.count * imageSize)
        for i in indices { bytes += images[(i * imageSize)..<((i + 1) * imageSize)] }
        return ImageDataset(images: bytes, labels: indices.map { labels[$0] }, imageShape: imageShape,
                            classNames: classNames, scale: scale)
    }

    /// All examples of `parts`, in order (shapes and class names must agree).
    public static func concatenate(_ parts: [ImageDataset]) -> ImageDataset {
        precondition(!parts.isEmpty, "ImageDataset.concatenate needs at least one dataset")
        precondition(parts.allSatisfy { $0.imageShape == parts[0].imageShape }, "ImageDataset.concatenate: image shapes differ")
        return ImageDataset(images: parts.flatMap(\.images), labels: parts.flatMap(\.labels),
                            imageShape: parts[0].imageShape, classNames: parts[0].classNames, scale: parts[0].scale)
    }
}
