import Foundation
import Kusari

/// ZCA whitening (Bell & Sejnowski 1997; Krizhevsky 2009 for CIFAR-10), as the Theano CIFAR-10
/// seed applies it: every image, flattened to a vector `x` of `D = C * H * W` values, becomes
/// `W (x - mean)` with `W = U diag(1 / sqrt(S + epsilon)) Uᵀ`, where `U diag(S) Uᵀ` is the
/// covariance of the training images. The whitened data has covariance `S / (S + epsilon)` in
/// the eigenbasis: about the identity along directions whose variance is well above
/// `epsilon`, damped along the weaker (noisy) ones, and it stays as close to the original
/// images as a whitening can (the Z in ZCA: zero-phase, `W` is symmetric).
///
/// `W` is computed without an eigendecomposition, as `(C + epsilon I)^(-1/2)` by the coupled
/// Newton–Schulz iteration (see ``SymmetricMatrix/inverseSquareRoot(_:smallestEigenvalue:tolerance:maxIterations:)``),
/// which is nothing but matrix products on Kusari's SGEMM. For CIFAR-10 (`D = 3072`, 40,000
/// images, two cores) the covariance takes about 6–12 s and `W` 7–10 scaled steps, about 11–25 s
/// (float64 LAPACK `eigh` in NumPy takes 11–28 s on the same machine); the result agrees with
/// `U diag(1 / sqrt(S + ε)) Uᵀ` from that eigendecomposition to a relative Frobenius error of
/// 1e-6 (ε = 0.1) to 1e-4 (ε = 0.001). A Householder + QL eigensolver in plain Swift would take
/// minutes. Applying the transform costs one matrix–vector product per image, or one SGEMM per
/// batch through ``apply(batch:)`` (use it as a loader's `batchTransform`).
///
/// The fitted mean and matrix travel with the model: ``stateDict()`` / ``init(stateDict:)``.
public struct ZCAWhitening: ImageTransform, BatchTransform, FittedTransform {
    /// Mean of the training images, `[D]`.
    public let mean: Tensor
    /// The symmetric whitening matrix `W`, `[D, D]`.
    public let matrix: Tensor
    /// The regulariser added to the covariance's eigenvalues.
    public let epsilon: Float
    /// Shape of the images, `[C, H, W]` (product `D`).
    public let imageShape: [Int]

    /// The default `epsilon`, for images scaled to [0, 1] (Kusari's default scale): `0.01`.
    ///
    /// Practice varies with the pixel scale: Keras' `ImageDataGenerator` uses `zca_epsilon = 1e-6`
    /// (practically unregularised, which amplifies pixel noise), course material on [0, 1]
    /// CIFAR-10 often uses 1e-4 to 1e-2, and pylearn2's CIFAR-10 recipe (Goodfellow et al.'s
    /// maxout) uses `filter_bias = 0.1` on images after global contrast normalisation with scale
    /// 55, whose pixels have variance ≈ 1. Pixels in [0, 1] have variance ≈ 0.06 on CIFAR-10, so
    /// the same relative strength is ≈ 0.006. With `0.01`, 511 of CIFAR-10's 3,072 covariance
    /// eigenvalues (largest 55.4) lie above epsilon and are whitened, the rest damped; `0.1`
    /// whitens only 129 and `0.001` 1,240.
    public static let defaultEpsilon: Float = 0.01

    /// A ZCA transform from precomputed parameters.
    public init(mean: Tensor, matrix: Tensor, epsilon: Float, imageShape: [Int]) {
        let d = imageShape.reduce(1, *)
        precondition(mean.shape == [d] && matrix.shape == [d, d],
                     "ZCAWhitening: mean \(mean.shape) and matrix \(matrix.shape) do not fit images of shape \(imageShape)")
        self.mean = mean.contiguous().detach()
        self.matrix = matrix.contiguous().detach()
        self.epsilon = epsilon
        self.imageShape = imageShape
    }

    /// Fits the mean and whitening matrix to the images of `dataset` (as its examples are scaled).
    ///
    /// - Parameters:
    ///   - epsilon: regulariser added to the covariance's eigenvalues (see ``defaultEpsilon``).
    ///   - maxSamples: use at most this many images, evenly spaced through the dataset
    ///     (deterministic); `nil` uses all. The covariance costs `2 N D²` flops, so for
    ///     CIFAR-10's 40,000 training images about 0.75 TFLOP.
    public static func fit(_ dataset: ImageDataset, epsilon: Float = defaultEpsilon, maxSamples: Int? = nil) -> ZCAWhitening {
        let total = dataset.count
        precondition(total > 1, "ZCAWhitening.fit needs at least two images, got \(total)")
        let count = Swift.min(total, Swift.max(maxSamples ?? total, 2))
        let d = dataset.imageSize, scale = dataset.scale
        let (mean, covariance) = dataset.images.withUnsafeBufferPointer { bytes in
            moments(rows: count, dimension: d) { row, out in
                let image = count == total ? row : row * total / count
                let base = bytes.baseAddress! + image * d
                for i in 0..<d { out[i] = Float(base[i]) * scale }
            }
        }
        return whitening(mean: mean, covariance: covariance, epsilon: epsilon, imageShape: dataset.imageShape)
    }

    /// Fits the transform to `samples`, `[N, D]` (or `[N, C, H, W]`), one image per row.
    public static func fit(samples: Tensor, epsilon: Float = defaultEpsilon) -> ZCAWhitening {
        precondition(samples.rank >= 2 && samples.shape[0] > 1, "ZCAWhitening.fit: need [N, D] samples with N > 1, got \(samples.shape)")
        let imageShape = Array(samples.shape.dropFirst())
        let d = imageShape.reduce(1, *)
        let (mean, covariance) = samples.withUnsafeFloats { data in
            moments(rows: samples.shape[0], dimension: d) { row, out in
                out.update(from: data.baseAddress! + row * d, count: d)
            }
        }
        return whitening(mean: mean, covariance: covariance, epsilon: epsilon, imageShape: imageShape)
    }

    /// The mean `[D]` and the population covariance `[D, D]` (divided by N, as Keras and
    /// pylearn2 do) of `rows` vectors produced by `fill(row, buffer)`; centred rows are
    /// multiplied in chunks with SGEMM.
    static func moments(rows: Int, dimension d: Int,
                        fill: (_ row: Int, _ out: UnsafeMutablePointer<Float>) -> Void) -> (Tensor, Tensor) {
        let chunk = Swift.max(1, Swift.min(rows, (16 << 20) / Swift.max(d * 4, 1)))
        let buffer = Tensor(uninitializedShape: [chunk, d])
        var sums = [Double](repeating: 0, count: d)
        buffer.withUnsafeMutableFloats { out in
            for row in 0..<rows {
                let slot = out.baseAddress! + (row % chunk) * d
                fill(row, slot)
                for i in 0..<d { sums[i] += Double(slot[i]) }
            }
        }
        let meanValues = sums.map { Float($0 / Double(rows)) }
        let covariance = Tensor.zeros([d, d])
        var start = 0
        while start < rows {
            let n = Swift.min(chunk, rows - start)
            buffer.withUnsafeMutableFloats { out in
                meanValues.withUnsafeBufferPointer { m in
                    for k in 0..<n {
                        let slot = out.baseAddress! + k * d
                        fill(start + k, slot)
                        for i in 0..<d { slot[i] -= m[i] }
                    }
                }
            }
            let block = buffer.slice(axis: 0, start: 0, end: n)
            let gram = block.transpose().matmul(block)
            covariance.withUnsafeMutableFloats { acc in
                gram.withUnsafeFloats { g in for i in 0..<acc.count { acc[i] += g[i] } }
            }
            start += n
        }
        let inverseCount = 1 / Float(rows)
        covariance.withUnsafeMutableFloats { c in
            // Symmetrise exactly and scale.
            for i in 0..<d {
                for j in i..<d {
                    let v = (c[i * d + j] + c[j * d + i]) * 0.5 * inverseCount
                    c[i * d + j] = v
                    c[j * d + i] = v
                }
            }
        }
        return (Tensor(meanValues, shape: [d]), covariance)
    }

    /// The transform with `W = (covariance + epsilon I)^(-1/2)`.
    static func whitening(mean: Tensor, covariance: Tensor, epsilon: Float, imageShape: [Int]) -> ZCAWhitening {
        precondition(epsilon > 0, "ZCAWhitening: epsilon must be positive, got \(epsilon)")
        let d = mean.count
        let regularised = covariance.contiguousCopy().detach()
        regularised.withUnsafeMutableFloats { c in for i in 0..<d { c[i * d + i] += epsilon } }
        // The covariance is positive semi-definite, so ε (less a margin for rounding) bounds the
        // smallest eigenvalue from below.
        let root = SymmetricMatrix.inverseSquareRoot(regularised, smallestEigenvalue: 0.9 * epsilon)
        return ZCAWhitening(mean: mean, matrix: root.result, epsilon: epsilon, imageShape: imageShape)
    }

    public func apply(_ image: LabeledImage, random: inout ExampleRandom) -> LabeledImage {
        precondition(image.pixels.count == mean.count, "ZCAWhitening: image of shape \(image.shape) does not have \(mean.count) values")
        var result = image
        result.pixels = apply(batch: Tensor(image.pixels, shape: [1, image.pixels.count])).toArray(of: Float.self)
        return result
    }

    /// Whitens every row of `batch` (`[N, C, H, W]` or `[N, D]`) with one SGEMM; same shape out.
    public func apply(batch: Tensor) -> Tensor {
        let d = mean.count
        precondition(batch.rank >= 2 && batch.count == batch.shape[0] * d,
                     "ZCAWhitening: batch \(batch.shape) does not hold images of \(d) values")
        let rows = batch.shape[0]
        let centred = batch.contiguousCopy().detach().reshape([rows, d])
        centred.withUnsafeMutableFloats { x in
            mean.withUnsafeFloats { m in
                for r in 0..<rows {
                    let row = x.baseAddress! + r * d
                    for i in 0..<d { row[i] -= m[i] }
                }
            }
        }
        // W is symmetric, so row-vector products x W equal (W x)ᵀ.
        return centred.matmul(matrix).reshape(batch.shape)
    }

    public func stateDict() -> [(String, Tensor)] {
        [("mean", mean), ("matrix", matrix), ("epsilon", Tensor(scalar: epsilon)),
         ("shape", TransformSupport.shapeTensor(imageShape))]
    }

    public init(stateDict: [(String, Tensor)]) throws {
        let shape = try TransformSupport.shape(stateDict, owner: "ZCAWhitening")
        let d = shape.reduce(1, *)
        let mean = try TransformSupport.floats(stateDict, "mean", owner: "ZCAWhitening", count: d).values
        let matrix = try TransformSupport.floats(stateDict, "matrix", owner: "ZCAWhitening", count: d * d).values
        let epsilon = try TransformSupport.floats(stateDict, "epsilon", owner: "ZCAWhitening", count: 1).values[0]
        self.init(mean: Tensor(mean, shape: [d]), matrix: Tensor(matrix, shape: [d, d]), epsilon: epsilon, imageShape: shape)
    }
}

/// Functions of symmetric matrices computed with matrix products only.
public enum SymmetricMatrix {
    /// `A^(-1/2)` of a symmetric positive-definite `A` (`[n, n]` float32), by the coupled
    /// Newton–Schulz iteration (Higham, *Functions of Matrices*, 2008, §6.3 and eq. 6.35):
    ///
    ///     Y₀ = A / c,  Z₀ = I,  T = (3I − α Z Y) / 2,  Y ← α Y T,  Z ← T Z,
    ///
    /// where every iterate is a polynomial in `A`, `Y = M Z` with `M = (∏α) A / c` throughout, and
    /// `Z → M^(-1/2)`, so `A^(-1/2) = Z √(∏α / c)`. Each step costs three SGEMMs.
    ///
    /// The scale `c` bounds the largest eigenvalue (a power-iteration estimate, or the smaller of
    /// the Frobenius norm and the largest absolute row sum if the estimate proves too small), so
    /// the eigenvalues of `Z Y` start in the convergence region (0, 3). A plain step (`α = 1`)
    /// maps an eigenvalue `s` to `f(s) = s (3 − s)² / 4`: small ones grow by only 9/4 per step.
    /// Given a lower bound `ℓ` of `A`'s smallest eigenvalue (the `epsilon` of a regularised
    /// covariance), the steps are scaled as in Chen & Chow's scaled Newton–Schulz iteration
    /// (SIAM J. Sci. Comput. 36, 2014): with the eigenvalues of `Z Y` in `[ℓ_k, 1]`, the factor
    /// `α = 3 (1 − √ℓ_k) / (1 − ℓ_k^1.5)` (at most 2.9) equalises `f(α ℓ_k) = f(α)`, so the
    /// smallest eigenvalues grow about 6.5-fold per step; near convergence `α → 1` and the
    /// iteration converges quadratically. For a condition number `κ` this takes about
    /// `log(κ) / log(6.5) + 4` steps (`log(κ) / log(2.25) + 5` unscaled); in float32, `κ`
    /// should stay below about 10⁶.
    ///
    /// - Parameters:
    ///   - smallestEigenvalue: a lower bound of `A`'s smallest eigenvalue, enabling scaled steps.
    ///   - tolerance: stop when the RMS residual `‖I − Z Y‖_F / √n` is below it (or stops falling).
    /// - Returns: the matrix, the number of steps, and the final RMS residual.
    public static func inverseSquareRoot(_ a: Tensor, smallestEigenvalue: Float? = nil, tolerance: Float = 2e-6,
                                         maxIterations: Int = 100) -> (result: Tensor, iterations: Int, residual: Float) {
        precondition(a.rank == 2 && a.shape[0] == a.shape[1], "inverseSquareRoot needs a square matrix, got \(a.shape)")
        let n = a.shape[0]
        let matrix = a.contiguous().detach()
        let upper = matrix.withUnsafeFloats { upperEigenvalueBound($0, n) }
        let estimate = matrix.withUnsafeFloats { powerEstimate($0, n) }
        // The power estimate is a lower bound, usually within a few percent of λmax.
        var scales = [Swift.min(upper, 1.05 * estimate)]
        if scales[0] < upper { scales.append(upper) }
        for scale in scales where scale > 0 && scale.isFinite {
            if let result = iterate(matrix, scale: scale, smallest: smallestEigenvalue.map { $0 / scale },
                                    tolerance: tolerance, maxIterations: maxIterations) {
                return result
            }
        }
        preconditionFailure("inverseSquareRoot: the Newton–Schulz iteration diverged; the matrix is not positive definite")
    }

    /// Runs the iteration for `A / scale`; `nil` when it diverges (the scale was too small or
    /// `A` is not positive definite). `smallest` bounds the smallest eigenvalue of `A / scale`.
    private static func iterate(_ a: Tensor, scale: Float, smallest: Float?, tolerance: Float, maxIterations: Int)
        -> (result: Tensor, iterations: Int, residual: Float)? {
        let n = a.shape[0]
        var y = a.contiguousCopy().detach()
        y.withUnsafeMutableFloats { v in let s = 1 / scale; for i in 0..<v.count { v[i] *= s } }
        var z = identity(n)
        // log of (∏α / scale): A^(-1/2) = Z · exp(logFactor / 2).
        var logFactor = -log(Double(scale))
        var lower = smallest.map { Double(Swift.max($0, 1e-12)) }
        var best: (z: Tensor, logFactor: Double, residual: Float, iterations: Int)?
        func result(_ entry: (z: Tensor, logFactor: Double, residual: Float, iterations: Int)) -> (Tensor, Int, Float) {
            (scaled(entry.z, Float(exp(entry.logFactor / 2))), entry.iterations, entry.residual)
        }
        for iteration in 0...maxIterations {
            let t = z.matmul(y)
            // The step factor: 1 for the first step (whose input may reach above 1), then the
            // equalising factor for eigenvalues in [lower, 1].
            var alpha = 1.0
            if iteration > 0, let l = lower, l < 0.999 {
                alpha = Swift.min(2.9, 3 * (1 - l.squareRoot()) / (1 - l * l.squareRoot()))
            }
            if let l = lower {
                let s = alpha * l
                lower = Swift.min(1, s * (3 - s) * (3 - s) / 4)
            }
            // Turn ZY into T = (3I - α ZY) / 2 = I + (α R - (α - 1) I) / 2 with R = I - ZY, measuring ‖R‖.
            var squares = 0.0
            let a32 = Float(alpha)
            t.withUnsafeMutableFloats { m in
                for i in 0..<n {
                    for j in 0..<n {
                        let k = i * n + j
                        let diagonal: Float = i == j ? 1 : 0
                        let r = diagonal - m[k]
                        squares += Double(r) * Double(r)
                        m[k] = 1.5 * diagonal - 0.5 * a32 * m[k]
                    }
                }
            }
            let residual = Float((squares / Double(n)).squareRoot())
            guard residual.isFinite && residual < 1e3 else { return nil }
            if let current = best, residual >= current.residual, residual < 1e-2 {
                // The float32 floor is reached: keep the previous, better iterate.
                return result(current)
            }
            if best == nil || residual < best!.residual { best = (z, logFactor, residual, iteration) }
            if residual <= tolerance || iteration == maxIterations { break }
            y = y.matmul(t)
            if alpha != 1 { y.withUnsafeMutableFloats { v in for i in 0..<v.count { v[i] *= a32 } } }
            z = t.matmul(z)
            logFactor += log(alpha)
        }
        guard let best else { return nil }
        return result(best)
    }

    /// A symmetric copy of `m * factor` (averaging `m` with its transpose removes rounding asymmetry).
    private static func scaled(_ m: Tensor, _ factor: Float) -> Tensor {
        let n = m.shape[0]
        let result = Tensor(uninitializedShape: [n, n])
        m.withUnsafeFloats { s in
            result.withUnsafeMutableFloats { r in
                for i in 0..<n {
                    for j in 0..<n { r[i * n + j] = 0.5 * (s[i * n + j] + s[j * n + i]) * factor }
                }
            }
        }
        return result
    }

    private static func identity(_ n: Int) -> Tensor {
        let result = Tensor.zeros([n, n])
        result.withUnsafeMutableFloats { m in for i in 0..<n { m[i * n + i] = 1 } }
        return result
    }

    /// `min(‖A‖_F, max_i Σ_j |a_ij|)`, both upper bounds of the spectral radius.
    private static func upperEigenvalueBound(_ a: UnsafeBufferPointer<Float>, _ n: Int) -> Float {
        var frobenius = 0.0, rowMax = 0.0
        for i in 0..<n {
            var row = 0.0
            for j in 0..<n { let v = Double(a[i * n + j]); frobenius += v * v; row += abs(v) }
            rowMax = Swift.max(rowMax, row)
        }
        return Float(Swift.min(frobenius.squareRoot(), rowMax))
    }

    /// The Rayleigh quotient after 40 power-iteration steps from a fixed pseudo-random start: a
    /// lower bound of the largest eigenvalue, usually within a few percent of it.
    private static func powerEstimate(_ a: UnsafeBufferPointer<Float>, _ n: Int) -> Float {
        var random = ExampleRandom(seed: 0x5A43_4131, epoch: 0, position: 0)
        var v = (0..<n).map { _ in Double(random.uniform(-1, 1)) }
        var w = [Double](repeating: 0, count: n)
        var estimate = 0.0
        for _ in 0..<40 {
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { return 0 }
            for i in 0..<n { v[i] /= norm }
            for i in 0..<n {
                var s = 0.0
                for j in 0..<n { s += Double(a[i * n + j]) * v[j] }
                w[i] = s
            }
            estimate = zip(v, w).reduce(0) { $0 + $1.0 * $1.1 }
            swap(&v, &w)
        }
        return Float(estimate)
    }
}
