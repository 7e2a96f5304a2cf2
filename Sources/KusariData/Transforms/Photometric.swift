import Kusari

/// TensorFlow's `random_brightness`: adds one `delta`, drawn uniformly from
/// `[-maxDelta, maxDelta)`, to every value of the image. Like TensorFlow on float images, the
/// result is not clipped. (The TF CIFAR-10 tutorial uses `maxDelta = 63` on a 0–255 scale, i.e.
/// `63 / 255` for images scaled to [0, 1].)
public struct RandomBrightness: ImageTransform {
    /// Largest absolute change.
    public let maxDelta: Float

    /// Brightness changes of at most `maxDelta` (non-negative).
    public init(maxDelta: Float) {
        precondition(maxDelta >= 0, "RandomBrightness: maxDelta \(maxDelta) is negative")
        self.maxDelta = maxDelta
    }

    public func apply(_ image: LabeledImage, random: inout ExampleRandom) -> LabeledImage {
        let delta = random.uniform(-maxDelta, maxDelta)
        var result = image
        result.pixels.withUnsafeMutableBufferPointer { pixels in
            for i in 0..<pixels.count { pixels[i] += delta }
        }
        return result
    }
}

/// TensorFlow's `random_contrast`: draws one factor uniformly from `[lower, upper)` and, in each
/// channel separately, maps every value `x` to `(x - mean) * factor + mean`, where `mean` is the
/// channel's mean over the image's pixels (`adjust_contrast`; no clipping). The tutorial uses
/// `lower = 0.2, upper = 1.8`.
public struct RandomContrast: ImageTransform {
    /// Smallest factor.
    public let lower: Float
    /// Largest factor (exclusive).
    public let upper: Float

    /// Contrast factors from `[lower, upper)`, `0 <= lower <= upper`.
    public init(lower: Float, upper: Float) {
        precondition(lower >= 0 && lower <= upper, "RandomContrast: need 0 <= lower <= upper, got \(lower), \(upper)")
        self.lower = lower
        self.upper = upper
    }

    public func apply(_ image: LabeledImage, random: inout ExampleRandom) -> LabeledImage {
        let (c, h, w) = TransformSupport.chw(image, "RandomContrast")
        let factor = random.uniform(lower, upper)
        let plane = h * w
        guard plane > 0 else { return image }
        var result = image
        result.pixels.withUnsafeMutableBufferPointer { pixels in
            for channel in 0..<c {
                let range = (channel * plane)..<((channel + 1) * plane)
                var sum = 0.0
                for i in range { sum += Double(pixels[i]) }
                let mean = Float(sum / Double(plane))
                for i in range { pixels[i] = (pixels[i] - mean) * factor + mean }
            }
        }
        return result
    }
}
