import Kusari

/// Subtracts a fixed mean: a mean image (one value per pixel, as in the SVHN seed, where the
/// mean over train + extra is subtracted) or one mean per channel.
public struct MeanSubtraction: ImageTransform, BatchTransform, FittedTransform {
    /// The mean, in CHW order: `C * H * W` values (mean image) or `C` values (per channel).
    public let mean: [Float]
    /// Shape of ``mean``: `[C, H, W]` for a mean image or `[C]`.
    public let shape: [Int]

    /// Subtracts `mean`, of shape `shape` (`[C, H, W]` for a mean image, `[C]` per channel).
    public init(mean: [Float], shape: [Int]) {
        precondition(mean.count == shape.reduce(1, *), "MeanSubtraction: \(mean.count) values do not fill shape \(shape)")
        self.mean = mean
        self.shape = shape
    }

    /// Subtracts `mean`: a mean image when it has one value per pixel of the images it is
    /// applied to (CHW order), otherwise one value per channel.
    public init(mean: [Float]) {
        self.init(mean: mean, shape: [mean.count])
    }

    /// The mean image of `dataset` (as its examples are scaled), accumulated exactly.
    public static func fit(_ dataset: ImageDataset) -> MeanSubtraction { fit([dataset]) }

    /// The mean image over all examples of `datasets` (each weighted by its size, as when the
    /// SVHN seed averages train and extra together).
    public static func fit(_ datasets: [ImageDataset]) -> MeanSubtraction {
        precondition(!datasets.isEmpty, "MeanSubtraction.fit needs at least one dataset")
        let shape = datasets[0].imageShape
        precondition(datasets.allSatisfy { $0.imageShape == shape && $0.scale == datasets[0].scale },
                     "MeanSubtraction.fit: datasets differ in image shape or scale")
        let size = shape.reduce(1, *)
        var sums = [UInt64](repeating: 0, count: size)
        var total = 0
        for dataset in datasets {
            ImageStatistics.addPixelSums(dataset, into: &sums)
            total += dataset.count
        }
        precondition(total > 0, "MeanSubtraction.fit: the datasets are empty")
        let factor = Double(datasets[0].scale) / Double(total)
        return MeanSubtraction(mean: sums.map { Float(Double($0) * factor) }, shape: shape)
    }

    public func apply(_ image: LabeledImage, random: inout ExampleRandom) -> LabeledImage {
        var result = image
        subtract(&result.pixels, imageShape: image.shape)
        return result
    }

    public func apply(batch: Tensor) -> Tensor {
        let result = batch.contiguousCopy().detach()
        result.withUnsafeMutableFloats { buffer in
            let imageSize = Array(batch.shape.dropFirst()).reduce(1, *)
            for start in stride(from: 0, to: buffer.count, by: Swift.max(imageSize, 1)) {
                subtract(UnsafeMutableBufferPointer(rebasing: buffer[start..<start + imageSize]),
                         imageShape: Array(batch.shape.dropFirst()))
            }
        }
        return result
    }

    private func subtract(_ pixels: inout [Float], imageShape: [Int]) {
        pixels.withUnsafeMutableBufferPointer { subtract($0, imageShape: imageShape) }
    }

    private func subtract(_ pixels: UnsafeMutableBufferPointer<Float>, imageShape: [Int]) {
        if mean.count == pixels.count {
            mean.withUnsafeBufferPointer { m in for i in 0..<pixels.count { pixels[i] -= m[i] } }
        } else {
            precondition(imageShape.first == mean.count && pixels.count % mean.count == 0,
                         "MeanSubtraction: mean of shape \(shape) does not fit image shape \(imageShape)")
            let plane = pixels.count / mean.count
            for c in 0..<mean.count {
                let m = mean[c]
                for i in (c * plane)..<((c + 1) * plane) { pixels[i] -= m }
            }
        }
    }

    public func stateDict() -> [(String, Tensor)] {
        [("mean", Tensor(mean, shape: shape))]
    }

    public init(stateDict: [(String, Tensor)]) throws {
        let (values, shape) = try TransformSupport.floats(stateDict, "mean", owner: "MeanSubtraction")
        self.init(mean: values, shape: shape)
    }
}

/// Per-channel normalisation `(x - mean[c]) / std[c]` (torchvision's `Normalize`).
public struct Normalize: ImageTransform, BatchTransform, FittedTransform {
    /// Mean of each channel.
    public let mean: [Float]
    /// Standard deviation of each channel.
    public let std: [Float]

    /// Normalises with the given per-channel statistics (`std` values must be positive).
    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count, "Normalize: \(mean.count) means but \(std.count) standard deviations")
        precondition(std.allSatisfy { $0 > 0 }, "Normalize: standard deviations must be positive, got \(std)")
        self.mean = mean
        self.std = std
    }

    /// The per-channel mean and (population) standard deviation of every pixel of `dataset`,
    /// as its examples are scaled; computed from exact integer sums. A constant channel gets
    /// standard deviation 1.
    public static func fit(_ dataset: ImageDataset) -> Normalize {
        let channels = dataset.imageShape[0]
        let (sums, squares) = ImageStatistics.channelSums(dataset)
        let perChannel = Double(dataset.count * (dataset.imageSize / channels))
        precondition(perChannel > 0, "Normalize.fit: the dataset is empty")
        let scale = Double(dataset.scale)
        var means = [Float](), stds = [Float]()
        for c in 0..<channels {
            let m = Double(sums[c]) / perChannel
            let variance = Swift.max(Double(squares[c]) / perChannel - m * m, 0)
            means.append(Float(m * scale))
            let s = Float(variance.squareRoot() * scale)
            stds.append(s > 0 ? s : 1)
        }
        return Normalize(mean: means, std: stds)
    }

    public func apply(_ image: LabeledImage, random: inout ExampleRandom) -> LabeledImage {
        var result = image
        result.pixels.withUnsafeMutableBufferPointer { normalize($0) }
        return result
    }

    public func apply(batch: Tensor) -> Tensor {
        precondition(batch.rank >= 2 && batch.shape[1] == mean.count,
                     "Normalize: batch \(batch.shape) does not have \(mean.count) channels on axis 1")
        let result = batch.contiguousCopy().detach()
        let imageSize = Array(batch.shape.dropFirst()).reduce(1, *)
        result.withUnsafeMutableFloats { buffer in
            for start in stride(from: 0, to: buffer.count, by: Swift.max(imageSize, 1)) {
                normalize(UnsafeMutableBufferPointer(rebasing: buffer[start..<start + imageSize]))
            }
        }
        return result
    }

    private func normalize(_ pixels: UnsafeMutableBufferPointer<Float>) {
        precondition(pixels.count % mean.count == 0, "Normalize: \(pixels.count) pixels do not split into \(mean.count) channels")
        let plane = pixels.count / mean.count
        for c in 0..<mean.count {
            let m = mean[c], inverse = 1 / std[c]
            for i in (c * plane)..<((c + 1) * plane) { pixels[i] = (pixels[i] - m) * inverse }
        }
    }

    public func stateDict() -> [(String, Tensor)] {
        [("mean", Tensor(mean, shape: [mean.count])), ("std", Tensor(std, shape: [std.count]))]
    }

    public init(stateDict: [(String, Tensor)]) throws {
        let mean = try TransformSupport.floats(stateDict, "mean", owner: "Normalize").values
        let std = try TransformSupport.floats(stateDict, "std", owner: "Normalize", count: mean.count).values
        guard std.allSatisfy({ $0 > 0 }) else {
            throw DatasetError(file: "Normalize state", location: "std", message: "entry is \(std), expected positive values")
        }
        self.init(mean: mean, std: std)
    }
}

/// TensorFlow's `per_image_standardization` (the CIFAR-10 tutorial's "whitening"): each image
/// becomes `(x - mean) / max(std, 1 / sqrt(N))`, where `mean` and `std` (population) are taken
/// over all `N = C * H * W` values of that image; the floor keeps uniform images finite.
public struct PerImageStandardization: ImageTransform {
    /// Creates the transform (it has no parameters).
    public init() {}

    public func apply(_ image: LabeledImage, random: inout ExampleRandom) -> LabeledImage {
        var result = image
        let n = image.pixels.count
        guard n > 0 else { return result }
        result.pixels.withUnsafeMutableBufferPointer { pixels in
            var sum = 0.0
            for value in pixels { sum += Double(value) }
            let mean = sum / Double(n)
            var squares = 0.0
            for value in pixels { let d = Double(value) - mean; squares += d * d }
            let std = (squares / Double(n)).squareRoot()
            let adjusted = Swift.max(std, 1 / Double(n).squareRoot())
            let m = Float(mean), inverse = Float(1 / adjusted)
            for i in 0..<n { pixels[i] = (pixels[i] - m) * inverse }
        }
        return result
    }
}

/// Exact integer statistics of an ``ImageDataset``'s bytes.
enum ImageStatistics {
    /// Adds each pixel position's byte sum over all images of `dataset` to `sums`.
    static func addPixelSums(_ dataset: ImageDataset, into sums: inout [UInt64]) {
        let size = dataset.imageSize
        guard size > 0, dataset.count > 0 else { return }
        // Sums of at most 2^24 / 255 images fit in UInt32 lanes, which vectorise well.
        let chunk = 65_536
        var partial = [UInt32](repeating: 0, count: size)
        dataset.images.withUnsafeBufferPointer { bytes in
            partial.withUnsafeMutableBufferPointer { acc in
                var image = 0
                while image < dataset.count {
                    let end = Swift.min(dataset.count, image + chunk)
                    for i in 0..<size { acc[i] = 0 }
                    for k in image..<end {
                        let base = bytes.baseAddress! + k * size
                        for i in 0..<size { acc[i] &+= UInt32(base[i]) }
                    }
                    for i in 0..<size { sums[i] &+= UInt64(acc[i]) }
                    image = end
                }
            }
        }
    }

    /// Per-channel sums of bytes and of squared bytes over all images.
    static func channelSums(_ dataset: ImageDataset) -> (sums: [UInt64], squares: [UInt64]) {
        let channels = dataset.imageShape[0], size = dataset.imageSize
        let plane = size / channels
        var sums = [UInt64](repeating: 0, count: channels), squares = [UInt64](repeating: 0, count: channels)
        dataset.images.withUnsafeBufferPointer { bytes in
            for k in 0..<dataset.count {
                for c in 0..<channels {
                    let base = bytes.baseAddress! + k * size + c * plane
                    if plane <= 66_051 {
                        // plane * 255^2 fits in UInt32, whose lanes vectorise well.
                        var s: UInt32 = 0, q: UInt32 = 0
                        for i in 0..<plane { let v = UInt32(base[i]); s &+= v; q &+= v * v }
                        sums[c] &+= UInt64(s); squares[c] &+= UInt64(q)
                    } else {
                        var s: UInt64 = 0, q: UInt64 = 0
                        for i in 0..<plane { let v = UInt64(base[i]); s &+= v; q &+= v * v }
                        sums[c] &+= s; squares[c] &+= q
                    }
                }
            }
        }
        return (sums, squares)
    }
}
