import Foundation
import Kusari

/// `shapes`: a built-in synthetic image-classification dataset that needs no files — ten
/// classes of simple shapes drawn on 32x32 RGB images with random position, size, thickness,
/// small rotation, colours, a background gradient and pixel noise.
///
/// Everything is a pure function of `(seed, index)` through Kusari's ``Philox`` generator, so a
/// dataset is reproduced exactly on any machine and thread count, and the first `n` images of
/// a larger set equal `make(count: n, seed:)`. Shapes are rasterised without anti-aliasing (a
/// pixel is inside when its centre is). Labels are balanced: every ten consecutive images hold
/// each class once, in a random order. Use different seeds for training and test sets.
public enum Shapes {
    /// The class names, in label order.
    public static let classNames = ["circle", "square", "triangle", "cross", "horizontal bar",
                                    "vertical bar", "diagonal", "ring", "two dots", "plus"]
    /// `[3, 32, 32]`.
    public static let imageShape = [3, side, side]

    static let side = 32

    /// `count` images generated from `seed`, as bytes with the default 1/255 scale.
    public static func make(count: Int, seed: UInt64) -> ImageDataset {
        precondition(count >= 0, "Shapes.make: negative count \(count)")
        let imageSize = 3 * side * side
        var images = [UInt8](repeating: 0, count: count * imageSize)
        var labels = [Int32](repeating: 0, count: count)
        images.withUnsafeMutableBufferPointer { pixels in
            labels.withUnsafeMutableBufferPointer { labelBuffer in
                let pixelBase = pixels.baseAddress!, labelBase = labelBuffer.baseAddress
                Threading.parallelFor(count, grain: 64) { start, end in
                    for index in start..<end {
                        let label = Self.label(index: index, seed: seed)
                        labelBase![index] = Int32(label)
                        render(label: label, index: index, seed: seed,
                               into: UnsafeMutableBufferPointer(start: pixelBase + index * imageSize, count: imageSize))
                    }
                }
            }
        }
        return ImageDataset(images: images, labels: labels, imageShape: imageShape, classNames: classNames)
    }

    /// The label of image `index`: a seeded permutation of the ten classes in each run of ten.
    static func label(index: Int, seed: UInt64) -> Int {
        var random = ShapeRandom(seed: seed, index: UInt64(index / 10), stream: 1)
        var order = Array(0..<10)
        for i in stride(from: 9, to: 0, by: -1) {
            order.swapAt(i, random.int(0...i))
        }
        return order[index % 10]
    }

    /// Everything drawn for one image before its pixel noise.
    struct Scene {
        var background: SIMD3<Float>
        var foreground: SIMD3<Float>
        var shape: ShapeGeometry
        /// Brightness change per pixel along x and y, added to every channel.
        var gradient: SIMD2<Float>
        /// Standard deviation of the pixel noise.
        var noise: Float

        /// The noise-free value of pixel `(x, y)`.
        func clean(_ x: Int, _ y: Int) -> SIMD3<Float> {
            let px = Float(x) + 0.5, py = Float(y) + 0.5, half = Float(Shapes.side) / 2
            let shade = gradient.x * (px - half) + gradient.y * (py - half)
            return (shape.contains(px, py) ? foreground : background) + SIMD3(repeating: shade)
        }
    }

    /// Draws the colours and geometry of image `index` of class `label` from `random`.
    static func scene(label: Int, random: inout ShapeRandom) -> Scene {
        // Colours: background and a foreground at least `minDistance` away (Euclidean, 0–255).
        let background = SIMD3<Float>(random.uniform(0, 255), random.uniform(0, 255), random.uniform(0, 255))
        var foreground = SIMD3<Float>(repeating: 0)
        let minDistance: Float = 110
        var found = false
        for _ in 0..<16 {
            foreground = SIMD3(random.uniform(0, 255), random.uniform(0, 255), random.uniform(0, 255))
            let d = foreground - background
            if (d * d).sum() >= minDistance * minDistance { found = true; break }
        }
        if !found { foreground = SIMD3(repeating: 255) - background }
        let shape = ShapeGeometry(label: label, random: &random)
        let gradient = SIMD2<Float>(random.uniform(-1.5, 1.5), random.uniform(-1.5, 1.5))
        let noise = random.uniform(2, 20)
        return Scene(background: background, foreground: foreground, shape: shape, gradient: gradient, noise: noise)
    }

    /// The scene of image `index` (for tests and inspection).
    static func scene(index: Int, seed: UInt64) -> Scene {
        var random = ShapeRandom(seed: seed, index: UInt64(index), stream: 0)
        return scene(label: label(index: index, seed: seed), random: &random)
    }

    /// Draws image `index` of class `label` into `out` (CHW bytes).
    static func render(label: Int, index: Int, seed: UInt64, into out: UnsafeMutableBufferPointer<UInt8>) {
        var random = ShapeRandom(seed: seed, index: UInt64(index), stream: 0)
        let scene = scene(label: label, random: &random)
        let plane = side * side
        for y in 0..<side {
            for x in 0..<side {
                let clean = scene.clean(x, y)
                let bitsA = random.next(), bitsB = random.next()
                for c in 0..<3 {
                    // Triangular noise from the sum of two random bytes, standard deviation ≈ `noise`.
                    let a = Float(bitsA >> (8 * UInt32(c)) & 0xFF), b = Float(bitsB >> (8 * UInt32(c)) & 0xFF)
                    let value = clean[c] + (a + b - 255) * (scene.noise / 104)
                    out[c * plane + y * side + x] = UInt8(Swift.min(Swift.max(value.rounded(), 0), 255))
                }
            }
        }
    }
}

/// The random parameters of one shape and its inside test (in pixel coordinates).
struct ShapeGeometry {
    let label: Int
    let center: SIMD2<Float>
    /// Half the extent of the shape.
    let radius: Float
    /// Half the width of strokes.
    let halfWidth: Float
    /// Rotation (cosine, sine) applied to the shape's own axes.
    let rotation: SIMD2<Float>
    /// +1 or -1: which diagonal (class 6), or the angle of the two dots (class 8).
    let variant: Float
    let dotAngle: Float

    init(label: Int, random: inout ShapeRandom) {
        self.label = label
        let radius = random.uniform(6, 11)
        self.radius = radius
        let margin = radius * 0.7
        center = SIMD2(random.uniform(margin + 1, 31 - margin), random.uniform(margin + 1, 31 - margin))
        halfWidth = random.uniform(1.0, 2.2)
        let angle = random.uniform(-12, 12) * Float.pi / 180
        rotation = SIMD2(cos(angle), sin(angle))
        variant = random.uniform(0, 1) < 0.5 ? 1 : -1
        dotAngle = random.uniform(0, Float.pi)
    }

    func contains(_ px: Float, _ py: Float) -> Bool {
        let ox = px - center.x, oy = py - center.y
        // Coordinates along the shape's rotated axes.
        let dx = rotation.x * ox + rotation.y * oy
        let dy = -rotation.y * ox + rotation.x * oy
        let r = radius, w = halfWidth
        let inv2 = Float(0.5).squareRoot()
        switch label {
        case 0:  // circle
            return dx * dx + dy * dy <= r * r
        case 1:  // square (same area as the circle's bounding box scaled down a little)
            return max(abs(dx), abs(dy)) <= r * 0.85
        case 2:  // triangle, apex up
            guard dy >= -r && dy <= 0.8 * r else { return false }
            return abs(dx) <= (dy + r) / 1.8
        case 3:  // cross (X)
            let u = (dx - dy) * inv2, v = (dx + dy) * inv2
            return (abs(u) <= w && abs(v) <= r) || (abs(v) <= w && abs(u) <= r)
        case 4:  // horizontal bar
            return abs(dy) <= w && abs(dx) <= r
        case 5:  // vertical bar
            return abs(dx) <= w && abs(dy) <= r
        case 6:  // one diagonal stroke, / or \
            let u = (dx - variant * dy) * inv2, v = (dx + variant * dy) * inv2
            return abs(u) <= w && abs(v) <= r
        case 7:  // ring
            let d2 = dx * dx + dy * dy
            let inner = max(r - max(2 * w, 2), 1)
            return d2 <= r * r && d2 >= inner * inner
        case 8:  // two dots
            let dotRadius = max(2, r * 0.35)
            let offset = SIMD2<Float>(cos(dotAngle), sin(dotAngle)) * (r * 0.65)
            let a = SIMD2(dx, dy) - offset, b = SIMD2(dx, dy) + offset
            return (a * a).sum() <= dotRadius * dotRadius || (b * b).sum() <= dotRadius * dotRadius
        default:  // plus
            return (abs(dy) <= w && abs(dx) <= r) || (abs(dx) <= w && abs(dy) <= r)
        }
    }
}

/// Random numbers for one image: Philox blocks keyed by the seed, with counter
/// `(index, stream, block)`, so every image is independent of every other.
struct ShapeRandom {
    private let key: SIMD2<UInt32>
    private let index: UInt64
    private let stream: UInt32
    private var block: UInt32 = 0
    private var buffer = SIMD4<UInt32>()
    private var used = 4

    init(seed: UInt64, index: UInt64, stream: UInt32) {
        key = SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        self.index = index
        self.stream = stream
    }

    /// 32 random bits.
    mutating func next() -> UInt32 {
        if used == 4 {
            buffer = Philox.block(counter: SIMD4(UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32),
                                                 stream, block),
                                  key: key)
            block &+= 1
            used = 0
        }
        defer { used += 1 }
        return buffer[used]
    }

    /// A float in `[low, high)`.
    mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(next() >> 8) * 0x1p-24
    }

    /// An integer in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound + 1)
        return range.lowerBound + Int((UInt64(next()) &* span) >> 32)
    }
}
