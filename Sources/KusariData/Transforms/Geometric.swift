import Kusari

/// Copies the `height x width` window whose top-left corner is at `(top, left)` of `image`
/// (coordinates may lie outside it; pixels outside read as `fill`).
func cropWindow(_ image: LabeledImage, top: Int, left: Int, height: Int, width: Int, fill: Float) -> LabeledImage {
    let (c, h, w) = TransformSupport.chw(image, "crop")
    var pixels = [Float](repeating: fill, count: c * height * width)
    // Columns of the window that fall inside the image.
    let firstColumn = Swift.max(0, -left), endColumn = Swift.min(width, w - left)
    if firstColumn < endColumn {
        image.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { out in
                for channel in 0..<c {
                    for row in 0..<height {
                        let sourceRow = top + row
                        guard sourceRow >= 0 && sourceRow < h else { continue }
                        let from = source.baseAddress! + (channel * h + sourceRow) * w + left + firstColumn
                        let to = out.baseAddress! + (channel * height + row) * width + firstColumn
                        to.update(from: from, count: endColumn - firstColumn)
                    }
                }
            }
        }
    }
    return LabeledImage(pixels: pixels, shape: [c, height, width], label: image.label)
}

/// A random `height x width` crop (TensorFlow's `random_crop`; with `padding`, the
/// "pad 4 and crop 32" augmentation of CIFAR recipes).
///
/// The image is first padded by `padding` pixels of value `fill` on every side; the crop's top
/// offset is then drawn uniformly from `0 ... H + 2 * padding - height`, followed by its left
/// offset from `0 ... W + 2 * padding - width` (two ``ExampleRandom/int(in:)`` draws, in that
/// order).
public struct RandomCrop: ImageTransform {
    /// Crop height.
    public let height: Int
    /// Crop width.
    public let width: Int
    /// Pixels of `fill` added on each side before cropping.
    public let padding: Int
    /// Value of padded pixels.
    public let fill: Float

    /// Random `size x size` crops of the image padded by `padding`.
    public init(size: Int, padding: Int = 0, fill: Float = 0) {
        self.init(height: size, width: size, padding: padding, fill: fill)
    }

    /// Random `height x width` crops of the image padded by `padding`.
    public init(height: Int, width: Int, padding: Int = 0, fill: Float = 0) {
        precondition(height > 0 && width > 0 && padding >= 0, "RandomCrop: invalid size \(height)x\(width) or padding \(padding)")
        self.height = height
        self.width = width
        self.padding = padding
        self.fill = fill
    }

    public func apply(_ image: LabeledImage, random: inout ExampleRandom) -> LabeledImage {
        let (_, h, w) = TransformSupport.chw(image, "RandomCrop")
        precondition(h + 2 * padding >= height && w + 2 * padding >= width,
                     "RandomCrop: a \(height)x\(width) crop does not fit a \(h)x\(w) image padded by \(padding)")
        let top = random.int(in: 0...(h + 2 * padding - height))
        let left = random.int(in: 0...(w + 2 * padding - width))
        return cropWindow(image, top: top - padding, left: left - padding, height: height, width: width, fill: fill)
    }
}

/// The central `height x width` crop (TensorFlow's `resize_image_with_crop_or_pad` when
/// cropping): the top offset is `(H - height) / 2` and the left `(W - width) / 2`, rounded down.
public struct CenterCrop: ImageTransform {
    /// Crop height.
    public let height: Int
    /// Crop width.
    public let width: Int

    /// Central `size x size` crops.
    public init(size: Int) {
        self.init(height: size, width: size)
    }

    /// Central `height x width` crops.
    public init(height: Int, width: Int) {
        precondition(height > 0 && width > 0, "CenterCrop: invalid size \(height)x\(width)")
        self.height = height
        self.width = width
    }

    public func apply(_ image: LabeledImage, random: inout ExampleRandom) -> LabeledImage {
        let (_, h, w) = TransformSupport.chw(image, "CenterCrop")
        precondition(h >= height && w >= width, "CenterCrop: a \(height)x\(width) crop does not fit a \(h)x\(w) image")
        return cropWindow(image, top: (h - height) / 2, left: (w - width) / 2, height: height, width: width, fill: 0)
    }
}

/// Mirrors the image left-right with probability `p` (one ``ExampleRandom/bool(probability:)``
/// draw per image, made whatever `p` is).
public struct RandomHorizontalFlip: ImageTransform {
    /// Probability of flipping.
    public let p: Float

    /// Flips with probability `p`.
    public init(p: Float = 0.5) {
        precondition(p >= 0 && p <= 1, "RandomHorizontalFlip: probability \(p) is outside [0, 1]")
        self.p = p
    }

    public func apply(_ image: LabeledImage, random: inout ExampleRandom) -> LabeledImage {
        let (c, h, w) = TransformSupport.chw(image, "RandomHorizontalFlip")
        guard random.bool(probability: p) else { return image }
        var result = image
        result.pixels.withUnsafeMutableBufferPointer { pixels in
            for row in 0..<(c * h) {
                let base = pixels.baseAddress! + row * w
                var (i, j) = (0, w - 1)
                while i < j { swap(&base[i], &base[j]); i += 1; j -= 1 }
            }
        }
        return result
    }
}

/// Cutout (DeVries & Taylor, 2017): a `size x size` square, centred on a uniformly random
/// pixel and clipped at the borders, is set to `fill` in every channel.
///
/// The centre row is drawn first, then the centre column; the square covers rows
/// `cy - size / 2 ..< cy - size / 2 + size` (and likewise columns), intersected with the image.
public struct Cutout: ImageTransform {
    /// Side of the square.
    public let size: Int
    /// Value written into the square.
    public let fill: Float

    /// Masks one `size x size` square per image.
    public init(size: Int, fill: Float = 0) {
        precondition(size > 0, "Cutout: size \(size) is not positive")
        self.size = size
        self.fill = fill
    }

    public func apply(_ image: LabeledImage, random: inout ExampleRandom) -> LabeledImage {
        let (c, h, w) = TransformSupport.chw(image, "Cutout")
        let cy = random.int(below: h), cx = random.int(below: w)
        let top = Swift.max(0, cy - size / 2), bottom = Swift.min(h, cy - size / 2 + size)
        let left = Swift.max(0, cx - size / 2), right = Swift.min(w, cx - size / 2 + size)
        guard top < bottom && left < right else { return image }
        var result = image
        result.pixels.withUnsafeMutableBufferPointer { pixels in
            for channel in 0..<c {
                for row in top..<bottom {
                    let base = (channel * h + row) * w
                    for column in left..<right { pixels[base + column] = fill }
                }
            }
        }
        return result
    }
}
