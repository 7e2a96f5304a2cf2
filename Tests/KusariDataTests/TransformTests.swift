import Foundation
import Kusari
import Testing
@testable import KusariData

/// A `[c, h, w]` image whose pixel `i` is `values[i]` (default: `0, 1, 2, …`).
private func image(_ c: Int, _ h: Int, _ w: Int, values: [Float]? = nil, label: Int = 3) -> LabeledImage {
    LabeledImage(pixels: values ?? (0..<(c * h * w)).map(Float.init), shape: [c, h, w], label: label)
}

private func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
}

/// Symmetric eigendecomposition by cyclic Jacobi rotations, in Double: the reference for ZCA.
private func jacobiEigen(_ matrix: [Double], _ n: Int) -> (values: [Double], vectors: [Double]) {
    var a = matrix
    var v = [Double](repeating: 0, count: n * n)
    for i in 0..<n { v[i * n + i] = 1 }
    for _ in 0..<100 {
        var off = 0.0
        for p in 0..<n { for q in (p + 1)..<n { off += a[p * n + q] * a[p * n + q] } }
        if off < 1e-26 { break }
        for p in 0..<n {
            for q in (p + 1)..<n where abs(a[p * n + q]) > 1e-300 {
                let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
                let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<n {
                    let akp = a[k * n + p], akq = a[k * n + q]
                    a[k * n + p] = c * akp - s * akq
                    a[k * n + q] = s * akp + c * akq
                }
                for k in 0..<n {
                    let apk = a[p * n + k], aqk = a[q * n + k]
                    a[p * n + k] = c * apk - s * aqk
                    a[q * n + k] = s * apk + c * aqk
                }
                for k in 0..<n {
                    let vkp = v[k * n + p], vkq = v[k * n + q]
                    v[k * n + p] = c * vkp - s * vkq
                    v[k * n + q] = s * vkp + c * vkq
                }
            }
        }
    }
    return ((0..<n).map { a[$0 * n + $0] }, v)
}

/// `U diag(f(S)) Uᵀ` from a Jacobi decomposition.
private func spectralFunction(_ matrix: [Double], _ n: Int, _ f: (Double) -> Double) -> [Double] {
    let (values, vectors) = jacobiEigen(matrix, n)
    var result = [Double](repeating: 0, count: n * n)
    for k in 0..<n {
        let fk = f(values[k])
        for i in 0..<n { for j in 0..<n { result[i * n + j] += vectors[i * n + k] * fk * vectors[j * n + k] } }
    }
    return result
}

/// `count` correlated samples of dimension `d`, `[count, d]`: normal noise with standard
/// deviations `decay^k` along the axes of a fixed random rotation, so the covariance's spectrum
/// is about `decay^(2k)`.
private func correlatedSamples(count: Int, d: Int, seed: UInt64, decay: Double = 0.6) -> Tensor {
    let generator = Generator(seed: seed)
    let z = Tensor.normal([count, d], generator: generator)
    let m = Tensor.normal([d, d], generator: generator).toArray(of: Float.self).map(Double.init)
    var symmetric = m
    for i in 0..<d { for j in 0..<d { symmetric[i * d + j] = m[i * d + j] + m[j * d + i] } }
    let rotation = Tensor(jacobiEigen(symmetric, d).vectors.map { Float($0) }, shape: [d, d])
    let scales = Tensor((0..<d).map { Float(pow(decay, Double($0))) }, shape: [1, d])
    return ((z * scales).matmul(rotation.transpose()) + 0.5).contiguous()
}

private func covariance(_ x: Tensor) -> [Double] {
    let (n, d) = (x.shape[0], x.shape[1])
    let v = x.toArray(of: Float.self).map(Double.init)
    var mean = [Double](repeating: 0, count: d)
    for r in 0..<n { for i in 0..<d { mean[i] += v[r * d + i] / Double(n) } }
    var c = [Double](repeating: 0, count: d * d)
    for r in 0..<n {
        for i in 0..<d {
            let xi = v[r * d + i] - mean[i]
            for j in 0..<d { c[i * d + j] += xi * (v[r * d + j] - mean[j]) / Double(n) }
        }
    }
    return c
}

@Suite struct ExampleRandomTests {
    @Test func sameSeedSameStream() {
        var a = ExampleRandom(seed: 7, epoch: 2, position: 11), b = ExampleRandom(seed: 7, epoch: 2, position: 11)
        let first = (0..<50).map { _ in a.nextUInt32() }
        #expect(first == (0..<50).map { _ in b.nextUInt32() })
        for (seed, epoch, position) in [(8, 2, 11), (7, 3, 11), (7, 2, 12)] as [(UInt64, Int, Int)] {
            var other = ExampleRandom(seed: seed, epoch: epoch, position: position)
            #expect((0..<50).map { _ in other.nextUInt32() } != first)
        }
    }

    @Test func rangesAndMoments() {
        var r = ExampleRandom(seed: 1, epoch: 0, position: 0)
        var sum = 0.0
        var seen = Set<Int>()
        for _ in 0..<20_000 {
            let u = r.uniform()
            #expect(u >= 0 && u < 1)
            sum += Double(u)
            let k = r.int(below: 6)
            #expect(k >= 0 && k < 6)
            seen.insert(k)
            let v = r.uniform(-2, 3)
            #expect(v >= -2 && v < 3)
            let m = r.int(in: -1...1)
            #expect(m >= -1 && m <= 1)
        }
        #expect(abs(sum / 20_000 - 0.5) < 0.01)
        #expect(seen == Set(0..<6))
        var flips = 0
        for _ in 0..<10_000 where r.bool(probability: 0.3) { flips += 1 }
        #expect(abs(Double(flips) / 10_000 - 0.3) < 0.02)
    }
}

@Suite struct GeometricTransformTests {
    @Test func randomCropOffsetsAndPixels() {
        let input = image(2, 4, 5)
        var seenOffsets = Set<[Int]>()
        for position in 0..<200 {
            var replay = ExampleRandom(seed: 3, epoch: 0, position: position)
            let top = replay.int(in: 0...1), left = replay.int(in: 0...2)
            seenOffsets.insert([top, left])
            let output = RandomCrop(height: 3, width: 3).apply(input, seed: 3, position: position)
            #expect(output.shape == [2, 3, 3] && output.label == 3)
            var expected: [Float] = []
            for c in 0..<2 { for y in 0..<3 { for x in 0..<3 { expected.append(Float(c * 20 + (top + y) * 5 + left + x)) } } }
            #expect(output.pixels == expected)
        }
        #expect(seenOffsets.count == 6)
    }

    @Test func randomCropWithPadding() {
        // 1x2x2 image [[1, 2], [3, 4]] padded by 1 (fill -1) gives a 4x4 canvas; 2x2 crops at 3x3 offsets.
        let input = image(1, 2, 2, values: [1, 2, 3, 4])
        let canvas: [Float] = [-1, -1, -1, -1,
                               -1, 1, 2, -1,
                               -1, 3, 4, -1,
                               -1, -1, -1, -1]
        var seen = Set<[Int]>()
        for position in 0..<300 {
            var replay = ExampleRandom(seed: 9, epoch: 1, position: position)
            let top = replay.int(in: 0...2), left = replay.int(in: 0...2)
            seen.insert([top, left])
            let output = RandomCrop(size: 2, padding: 1, fill: -1).apply(input, seed: 9, epoch: 1, position: position)
            let expected = [canvas[top * 4 + left], canvas[top * 4 + left + 1],
                            canvas[(top + 1) * 4 + left], canvas[(top + 1) * 4 + left + 1]]
            #expect(output.pixels == expected)
        }
        #expect(seen.count == 9)
        // The corner crop (0, 0) is [[-1, -1], [-1, 1]].
        #expect(seen.contains([0, 0]))
    }

    @Test func centerCrop() {
        // 5x5 → 3x3 starts at (1, 1); 4x6 → 3x3 starts at ((4-3)/2, (6-3)/2) = (0, 1).
        #expect(CenterCrop(size: 3).apply(image(1, 5, 5)).pixels == [6, 7, 8, 11, 12, 13, 16, 17, 18])
        let output = CenterCrop(height: 3, width: 3).apply(image(2, 4, 6))
        #expect(output.shape == [2, 3, 3])
        #expect(output.pixels == [1, 2, 3, 7, 8, 9, 13, 14, 15, 25, 26, 27, 31, 32, 33, 37, 38, 39])
    }

    @Test func horizontalFlip() {
        let input = image(2, 2, 3)
        let flipped: [Float] = [2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9]
        #expect(RandomHorizontalFlip(p: 1).apply(input).pixels == flipped)
        #expect(RandomHorizontalFlip(p: 0).apply(input).pixels == input.pixels)
        var count = 0
        for position in 0..<1000 {
            var replay = ExampleRandom(seed: 4, epoch: 0, position: position)
            let expectFlip = replay.uniform() < 0.5
            let output = RandomHorizontalFlip().apply(input, seed: 4, position: position)
            #expect(output.pixels == (expectFlip ? flipped : input.pixels))
            if expectFlip { count += 1 }
        }
        #expect(count > 430 && count < 570)
    }

    @Test func cutoutRegion() {
        let input = image(2, 6, 7, values: [Float](repeating: 1, count: 84))
        var clipped = false
        for position in 0..<100 {
            var replay = ExampleRandom(seed: 5, epoch: 0, position: position)
            let cy = replay.int(below: 6), cx = replay.int(below: 7)
            // Size 3: rows cy-1 ... cy+1 and columns cx-1 ... cx+1, clipped to the image.
            let output = Cutout(size: 3).apply(input, seed: 5, position: position)
            for c in 0..<2 {
                for y in 0..<6 {
                    for x in 0..<7 {
                        let inside = abs(y - cy) <= 1 && abs(x - cx) <= 1
                        #expect(output.pixels[(c * 6 + y) * 7 + x] == (inside ? 0 : 1))
                    }
                }
            }
            if cy == 0 || cx == 0 || cy == 5 || cx == 6 { clipped = true }
        }
        #expect(clipped)
        // Even size 4 around (2, 3): rows 0..<4, columns 1..<5.
        var found = false
        for position in 0..<200 {
            var replay = ExampleRandom(seed: 6, epoch: 0, position: position)
            guard replay.int(below: 6) == 2, replay.int(below: 7) == 3 else { continue }
            let output = Cutout(size: 4, fill: -5).apply(input, seed: 6, position: position)
            let zeros = (0..<42).filter { output.pixels[$0] == -5 }
            #expect(zeros == (0..<4).flatMap { y in (1..<5).map { y * 7 + $0 } })
            found = true
            break
        }
        #expect(found)
    }
}

@Suite struct PhotometricTransformTests {
    @Test func brightness() {
        let input = image(3, 2, 2)
        var deltas: [Float] = []
        for position in 0..<300 {
            var replay = ExampleRandom(seed: 2, epoch: 0, position: position)
            let delta = replay.uniform(-0.25, 0.25)
            #expect(abs(delta) <= 0.25)
            deltas.append(delta)
            let output = RandomBrightness(maxDelta: 0.25).apply(input, seed: 2, position: position)
            #expect(output.pixels == input.pixels.map { $0 + delta })
        }
        #expect(deltas.min()! < -0.2 && deltas.max()! > 0.2)
    }

    @Test func contrast() {
        // Channel 0 = [0, 1, 2, 3] (mean 1.5), channel 1 = [10, 10, 20, 20] (mean 15).
        let input = image(2, 2, 2, values: [0, 1, 2, 3, 10, 10, 20, 20])
        for position in 0..<100 {
            var replay = ExampleRandom(seed: 8, epoch: 0, position: position)
            let f = replay.uniform(0.2, 1.8)
            #expect(f >= 0.2 && f < 1.8)
            let output = RandomContrast(lower: 0.2, upper: 1.8).apply(input, seed: 8, position: position)
            let expected: [Float] = [(0 - 1.5) * f + 1.5, (1 - 1.5) * f + 1.5, (2 - 1.5) * f + 1.5, (3 - 1.5) * f + 1.5,
                                     15 - 5 * f, 15 - 5 * f, 15 + 5 * f, 15 + 5 * f]
            #expect(close(output.pixels, expected))
        }
        // Factor 0 would flatten each channel to its mean.
        let flat = RandomContrast(lower: 0, upper: 0).apply(input)
        #expect(flat.pixels == [1.5, 1.5, 1.5, 1.5, 15, 15, 15, 15])
    }

    @Test func perImageStandardization() {
        // [1, 2, 3, 4]: mean 2.5, population std sqrt(1.25); floor 1/sqrt(4) = 0.5 is below it.
        let s = Float(1.25).squareRoot()
        let output = PerImageStandardization().apply(image(1, 2, 2, values: [1, 2, 3, 4]))
        #expect(close(output.pixels, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]))
        // A uniform image has std 0 < 0.5: (x - mean) / 0.5 = 0.
        #expect(PerImageStandardization().apply(image(1, 2, 2, values: [5, 5, 5, 5])).pixels == [0, 0, 0, 0])
        // A nearly uniform image uses the floor: std 0.1 < 1/sqrt(4), values (x - mean) / 0.5.
        let nearly = PerImageStandardization().apply(image(1, 2, 2, values: [1.1, 0.9, 1.1, 0.9]))
        #expect(close(nearly.pixels, [0.2, -0.2, 0.2, -0.2], tolerance: 1e-4))
        // The result has mean 0 and std 1 for a typical image.
        let random = Tensor.uniform([48], generator: Generator(seed: 1)).toArray(of: Float.self)
        let z = PerImageStandardization().apply(image(3, 4, 4, values: random)).pixels
        let mean = z.reduce(0, +) / 48
        let std = (z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 48).squareRoot()
        #expect(abs(mean) < 1e-5 && abs(std - 1) < 1e-4)
    }
}

@Suite struct NormalizationTransformTests {
    @Test func meanSubtractionFitAndApply() throws {
        // Two 1x1x3 images: bytes [0, 51, 255] and [102, 51, 0]; scale 1/255 → mean [0.2, 0.2, 0.5].
        let a = ImageDataset(images: [0, 51, 255, 102, 51, 0], labels: [0, 1], imageShape: [1, 1, 3], classNames: ["a", "b"])
        let fitted = MeanSubtraction.fit(a)
        #expect(fitted.shape == [1, 1, 3])
        #expect(close(fitted.mean, [0.2, 0.2, 0.5]))
        #expect(close(fitted.apply(a.example(at: 0)).pixels, [-0.2, 0, 0.5]))
        // Weighted over several datasets = the mean of their concatenation.
        let b = ImageDataset(images: [255, 255, 255], labels: [2], imageShape: [1, 1, 3], classNames: ["a", "b"])
        let joint = MeanSubtraction.fit([a, b])
        #expect(close(joint.mean, MeanSubtraction.fit(ImageDataset.concatenate([a, b])).mean))
        let expectedJoint: [Float] = [357 / 765, 357 / 765, 510 / 765]
        #expect(close(joint.mean, expectedJoint))
        // Per-channel means and batch application.
        let perChannel = MeanSubtraction(mean: [1, 2])
        #expect(perChannel.apply(image(2, 1, 2)).pixels == [-1, 0, 0, 1])
        let batch = Tensor([0, 1, 2, 3, 4, 5, 6, 7], shape: [2, 2, 1, 2])
        #expect(perChannel.apply(batch: batch).toArray(of: Float.self) == [-1, 0, 0, 1, 3, 4, 4, 5])
        // State round trip.
        let restored = try MeanSubtraction(stateDict: fitted.stateDict())
        #expect(restored.mean == fitted.mean && restored.shape == fitted.shape)
        #expect(throws: DatasetError.self) { try MeanSubtraction(stateDict: []) }
    }

    @Test func normalizeFitAndApply() throws {
        // C = 2, 1x2 pixels; images [0, 2 | 4, 6] and [2, 4 | 6, 8] with scale 1:
        // channel 0 = {0, 2, 2, 4}: mean 2, std √2; channel 1 = {4, 6, 6, 8}: mean 6, std √2.
        let data = ImageDataset(images: [0, 2, 4, 6, 2, 4, 6, 8], labels: [0, 1], imageShape: [2, 1, 2],
                                classNames: ["a", "b"], scale: 1)
        let normalize = Normalize.fit(data)
        #expect(close(normalize.mean, [2, 6]))
        #expect(close(normalize.std, [Float(2).squareRoot(), Float(2).squareRoot()]))
        let r = 1 / Float(2).squareRoot()
        #expect(close(normalize.apply(data.example(at: 0)).pixels, [-2 * r, 0, -2 * r, 0]))
        let batch = Tensor(data.images.map(Float.init), shape: [2, 2, 1, 2])
        #expect(close(normalize.apply(batch: batch).toArray(of: Float.self), [-2 * r, 0, -2 * r, 0, 0, 2 * r, 0, 2 * r]))
        let restored = try Normalize(stateDict: normalize.stateDict())
        #expect(restored.mean == normalize.mean && restored.std == normalize.std)
        #expect(Normalize(mean: [0.5], std: [0.25]).apply(image(1, 1, 2, values: [1, 0])).pixels == [2, -2])
    }

    @Test func composeDrawsInOrderAndIsDeterministic() {
        let pipeline = Compose(RandomCrop(size: 3, padding: 1), RandomHorizontalFlip(), RandomBrightness(maxDelta: 0.1),
                               RandomContrast(lower: 0.5, upper: 1.5), Cutout(size: 2), PerImageStandardization())
        let input = image(3, 4, 4, values: Tensor.uniform([48], generator: Generator(seed: 2)).toArray(of: Float.self))
        let first = pipeline.apply(input, seed: 11, epoch: 2, position: 5)
        #expect(first.pixels == pipeline.apply(input, seed: 11, epoch: 2, position: 5).pixels)
        #expect(first.pixels != pipeline.apply(input, seed: 11, epoch: 2, position: 6).pixels)
        #expect(first.pixels != pipeline.apply(input, seed: 11, epoch: 3, position: 5).pixels)
        // Same as applying the steps by hand on one shared stream.
        var random = ExampleRandom(seed: 11, epoch: 2, position: 5)
        var manual = input
        for step in pipeline.transforms { manual = step.apply(manual, random: &random) }
        #expect(manual.pixels == first.pixels)
    }
}

@Suite struct ZCATests {
    @Test func inverseSquareRootMatchesEigendecomposition() {
        // A well-spread SPD matrix with condition number ~1e4.
        let n = 24
        let samples = correlatedSamples(count: 400, d: n, seed: 21)
        let c = covariance(samples)
        var a = c
        for i in 0..<n { a[i * n + i] += 1e-4 }
        let reference = spectralFunction(a, n) { 1 / $0.squareRoot() }
        let scale = reference.map(abs).max()!
        let input = Tensor(a.map { Float($0) }, shape: [n, n])
        // Plain steps, and steps scaled with the known bound ε on the smallest eigenvalue.
        let plain = SymmetricMatrix.inverseSquareRoot(input)
        let scaled = SymmetricMatrix.inverseSquareRoot(input, smallestEigenvalue: 0.9e-4)
        for (result, iterations, residual) in [plain, scaled] {
            let error = zip(result.toArray(of: Float.self), reference).map { abs(Double($0) - $1) }.max()!
            #expect(error / scale < 2e-3, "max error \(error) of \(scale) after \(iterations) iterations, residual \(residual)")
        }
        #expect(plain.iterations < 40)
        #expect(scaled.iterations < plain.iterations - 3, "\(scaled.iterations) scaled vs \(plain.iterations) plain steps")
        // A diagonal matrix: exact values.
        let diagonal = Tensor([4, 0, 0, 0, 0.25, 0, 0, 0, 100], shape: [3, 3])
        let root = SymmetricMatrix.inverseSquareRoot(diagonal, smallestEigenvalue: 0.2).result.toArray(of: Float.self)
        #expect(close(root, [0.5, 0, 0, 0, 2, 0, 0, 0, 0.1], tolerance: 1e-5))
    }

    @Test func whitenedCovarianceIsNearIdentity() throws {
        let d = 12
        let samples = correlatedSamples(count: 2000, d: d, seed: 5, decay: 0.8).reshape([2000, 3, 2, 2])
        let epsilon: Float = 1e-4
        let zca = ZCAWhitening.fit(samples: samples, epsilon: epsilon)
        #expect(zca.imageShape == [3, 2, 2])
        let whitened = zca.apply(batch: samples)
        #expect(whitened.shape == [2000, 3, 2, 2])
        let wc = covariance(whitened.reshape([2000, d]))
        // Exactly: W (C + εI) W = I, so cov(Wx) = I − ε W².
        let w = zca.matrix.toArray(of: Float.self).map(Double.init)
        let c = covariance(samples.reshape([2000, d]))
        for i in 0..<d {
            for j in 0..<d {
                var w2 = 0.0
                for k in 0..<d { w2 += w[i * d + k] * w[k * d + j] }
                let expected = (i == j ? 1 : 0) - Double(epsilon) * w2
                #expect(abs(wc[i * d + j] - expected) < 2e-3, "cov[\(i), \(j)] = \(wc[i * d + j]), expected \(expected)")
            }
        }
        // And against an explicit eigendecomposition: W = U diag(1/sqrt(S + ε)) Uᵀ.
        let reference = spectralFunction(c, d) { 1 / ($0 + Double(epsilon)).squareRoot() }
        let scale = reference.map(abs).max()!
        #expect(zip(w, reference).allSatisfy { abs($0 - $1) < 2e-3 * scale })
        // Every direction's variance is well above ε here, so the whitened covariance is ≈ I.
        for i in 0..<d { for j in 0..<d { #expect(abs(wc[i * d + j] - (i == j ? 1 : 0)) < 0.03) } }
        // The symmetric matrix keeps images close to the input (zero-phase): W is symmetric.
        for i in 0..<d { for j in 0..<d { #expect(w[i * d + j] == w[j * d + i]) } }
    }

    @Test func largerEpsilonDampsWeakDirections() {
        let d = 12
        let samples = correlatedSamples(count: 1000, d: d, seed: 6, decay: 0.8)
        let weak = ZCAWhitening.fit(samples: samples, epsilon: 1e-4)
        let strong = ZCAWhitening.fit(samples: samples, epsilon: 1)
        let traceWeak = covariance(weak.apply(batch: samples)).enumerated().filter { $0.offset % (d + 1) == 0 }.map(\.element).reduce(0, +)
        let traceStrong = covariance(strong.apply(batch: samples)).enumerated().filter { $0.offset % (d + 1) == 0 }.map(\.element).reduce(0, +)
        #expect(abs(traceWeak - Double(d)) < 0.1)
        #expect(traceStrong < traceWeak - 1)
    }

    @Test func fitOnImageDatasetAndPerImageApply() throws {
        // Correlated bytes: one random base value per image plus small per-pixel noise.
        let generator = Generator(seed: 77)
        let base = Tensor.randint([300], low: 60, high: 190, generator: generator).toArray(of: Int64.self)
        let noise = Tensor.randint([300 * 12], low: -40, high: 41, generator: generator).toArray(of: Int64.self)
        let bytes = (0..<(300 * 12)).map { UInt8(base[$0 / 12] + noise[$0]) }
        let data = ImageDataset(images: bytes, labels: [Int32](repeating: 0, count: 300), imageShape: [3, 2, 2], classNames: ["x"])
        let zca = ZCAWhitening.fit(data, epsilon: 1e-3)
        let samples = Tensor(bytes.map { Float($0) / 255 }, shape: [300, 3, 2, 2])
        let direct = ZCAWhitening.fit(samples: samples, epsilon: 1e-3)
        #expect(close(zca.mean.toArray(of: Float.self), direct.mean.toArray(of: Float.self), tolerance: 1e-5))
        #expect(close(zca.matrix.toArray(of: Float.self), direct.matrix.toArray(of: Float.self), tolerance: 1e-3))
        // Per-image apply = the batch's rows.
        let batch = zca.apply(batch: samples).toArray(of: Float.self)
        for k in [0, 17, 299] {
            let single = zca.apply(data.example(at: k)).pixels
            #expect(close(single, Array(batch[(k * 12)..<((k + 1) * 12)]), tolerance: 1e-4))
        }
        // maxSamples takes evenly spaced images.
        let subsampled = ZCAWhitening.fit(data, epsilon: 1e-3, maxSamples: 100)
        let every3 = ZCAWhitening.fit(data.subset(Array(stride(from: 0, to: 300, by: 3))), epsilon: 1e-3)
        #expect(close(subsampled.matrix.toArray(of: Float.self), every3.matrix.toArray(of: Float.self), tolerance: 1e-4))
        // The whole dataset whitened once, in chunks, equals the batch application.
        let whitened = data.preprocessed(by: zca, chunk: 64)
        #expect(whitened.count == 300 && whitened.imageShape == [3, 2, 2] && whitened.labels == data.labels)
        #expect(close(whitened.values, batch, tolerance: 1e-5))
        #expect(whitened.example(at: 17).pixels == Array(whitened.values[(17 * 12)..<(18 * 12)]))
        #expect(whitened.example(at: 17).label == Int(data.labels[17]))
    }

    @Test func stateRoundTripThroughNPZ() throws {
        let samples = correlatedSamples(count: 200, d: 12, seed: 8).reshape([200, 3, 2, 2])
        let zca = ZCAWhitening.fit(samples: samples, epsilon: 0.01)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kusari-zca-\(UUID().uuidString).npz")
        defer { try? FileManager.default.removeItem(at: url) }
        try NPZ.write(zca.stateDict().map { (name: "zca/" + $0.0, array: $0.1.npyArray) }, to: url)
        let read = try NPZ.readOrdered(from: url).map { (String($0.name.dropFirst(4)), Tensor(npy: $0.array)) }
        let restored = try ZCAWhitening(stateDict: read)
        #expect(restored.imageShape == [3, 2, 2] && restored.epsilon == 0.01)
        #expect(restored.apply(batch: samples).toArray(of: Float.self) == zca.apply(batch: samples).toArray(of: Float.self))
        #expect(throws: DatasetError.self) { try ZCAWhitening(stateDict: read.filter { $0.0 != "matrix" }) }
    }
}

/// Timing of ZCA on CIFAR-size data (3,072 dimensions), run on demand:
/// `KUSARI_ZCA_BENCH=/path/to/cifar-10-batches-bin swift test -c release --filter zcaOnCIFARSizeData`
/// (the first 40,000 training images, as in the Theano seed; random bytes when the folder is absent).
@Test(.enabled(if: ProcessInfo.processInfo.environment["KUSARI_ZCA_BENCH"] != nil))
func zcaOnCIFARSizeData() throws {
    let folder = URL(fileURLWithPath: ProcessInfo.processInfo.environment["KUSARI_ZCA_BENCH"]!)
    var images = [UInt8](), labels = [Int32]()
    for k in 1...4 {
        let url = folder.appendingPathComponent("data_batch_\(k).bin")
        guard let data = FileManager.default.contents(atPath: url.path) else { break }
        for r in 0..<(data.count / 3073) {
            labels.append(Int32(data[r * 3073]))
            images += data[(r * 3073 + 1)..<((r + 1) * 3073)]
        }
    }
    let real = !images.isEmpty
    if !real {
        images = Tensor.randint([40_000 * 3072], low: 0, high: 256, generator: Generator(seed: 1)).toArray(of: Int64.self).map { UInt8($0) }
        labels = [Int32](repeating: 0, count: 40_000)
    }
    let data = ImageDataset(images: images, labels: labels, imageShape: [3, 32, 32], classNames: (0..<10).map { "\($0)" })
    print("ZCA benchmark on \(real ? "CIFAR-10" : "random bytes"): \(data.count) images, \(Threading.threadCount) threads")
    var start = Date()
    let (mean, covariance) = data.images.withUnsafeBufferPointer { bytes in
        ZCAWhitening.moments(rows: data.count, dimension: 3072) { row, out in
            for i in 0..<3072 { out[i] = Float(bytes[row * 3072 + i]) / 255 }
        }
    }
    let covarianceSeconds = Date().timeIntervalSince(start)
    let c = covariance.toArray(of: Float.self)
    let trace = (0..<3072).reduce(0.0) { $0 + Double(c[$1 * 3073]) }
    print(String(format: "covariance: %.2f s (trace %.2f, mean pixel variance %.4f)", covarianceSeconds, trace, trace / 3072))
    for epsilon: Float in [0.1, 0.01, 0.001] {
        let regularised = covariance.contiguousCopy().detach()
        regularised.withUnsafeMutableFloats { m in for i in 0..<3072 { m[i * 3073] += epsilon } }
        start = Date()
        let (w, iterations, residual) = SymmetricMatrix.inverseSquareRoot(regularised, smallestEigenvalue: 0.9 * epsilon)
        let seconds = Date().timeIntervalSince(start)
        // Check on 2,000 images: cov(W x) should be I − ε W², i.e. its trace d − ε tr(W²).
        let zca = ZCAWhitening(mean: mean, matrix: w, epsilon: epsilon, imageShape: [3, 32, 32])
        let sample = Tensor(data.subset(Array(0..<2000)).images.map { Float($0) / 255 }, shape: [2000, 3072])
        start = Date()
        let whitened = zca.apply(batch: sample)
        let applySeconds = Date().timeIntervalSince(start)
        let values = whitened.toArray(of: Float.self)
        var varianceSum = 0.0
        for i in 0..<3072 {
            var s = 0.0, q = 0.0
            for r in 0..<2000 { let v = Double(values[r * 3072 + i]); s += v; q += v * v }
            varianceSum += q / 2000 - (s / 2000) * (s / 2000)
        }
        let w2 = w.toArray(of: Float.self).reduce(0.0) { $0 + Double($1) * Double($1) }
        print(String(format: "epsilon %g: W in %.2f s, %d Newton–Schulz steps, residual %.2e; whitened variance sum %.1f (expected ≈ %.1f = 3072 − ε‖W‖²); apply to 2,000 images %.3f s",
                     epsilon, seconds, iterations, residual, varianceSum, 3072 - Double(epsilon) * w2, applySeconds))
        #expect(residual < 1e-3)
        if let dump = ProcessInfo.processInfo.environment["KUSARI_ZCA_DUMP"] {
            // For an outside check against a float64 eigendecomposition (numpy.linalg.eigh).
            try NPZ.write([(name: "covariance", array: covariance.npyArray), (name: "matrix", array: w.npyArray),
                           (name: "epsilon", array: Tensor(scalar: epsilon).npyArray)],
                          to: URL(fileURLWithPath: dump + "-\(epsilon).npz"))
        }
    }
}
