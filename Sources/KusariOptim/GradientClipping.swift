import Kusari

/// Rescales the gradients of `parameters` so that their global L2 norm is at most `maxNorm`, like
/// `torch.nn.utils.clip_grad_norm_`, and returns the norm measured before clipping.
///
/// The norm is taken over all gradients together, as if they were concatenated into one vector;
/// parameters without a gradient are ignored, and a tensor listed twice counts once. When the
/// norm `n` exceeds `maxNorm`, every gradient is multiplied by `maxNorm / (n + 1e-6)`; otherwise
/// nothing changes. Scaled gradients are new tensors assigned to `grad` — the old gradient tensors
/// are not modified, since autodiff may share them between parameters.
///
/// To clip inside every ``Optimizer/step()`` without allocating, set
/// ``Optimizer/gradientClipping`` instead.
/// - Returns: the global gradient norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    precondition(maxNorm >= 0, "clipGradientNorm: maxNorm \(maxNorm) is negative")
    var seen = Set<ObjectIdentifier>()
    let unique = parameters.filter { seen.insert(ObjectIdentifier($0)).inserted && $0.grad != nil }
    let norm = Float(OptimKernels.sumOfSquares(unique.map { $0.grad! }).squareRoot())
    let factor = clippingFactor(norm: norm, maxNorm: maxNorm)
    guard factor != 1 else { return norm }
    for parameter in unique {
        let gradient = parameter.grad!
        if gradient.device != .cpu {
            parameter.grad = withNoGrad { gradient * factor }
            continue
        }
        let scaled = Tensor(uninitializedShape: gradient.shape)
        scaled.withUnsafeMutableFloats { output in
            gradient.withUnsafeFloats { input in
                let source = input.baseAddress!, destination = output.baseAddress!
                Threading.parallelFor(input.count) { start, end in
                    for i in start..<end { destination[i] = source[i] * factor }
                }
            }
        }
        parameter.grad = scaled
    }
    return norm
}

/// The factor gradients with global norm `norm` are multiplied by to respect `maxNorm`:
/// `maxNorm / (norm + 1e-6)` when `norm > maxNorm` (PyTorch's formula), `1` otherwise (also when
/// the norm is NaN, so that NaN gradients stay visible rather than being hidden).
@inline(__always)
func clippingFactor(norm: Float, maxNorm: Float) -> Float {
    norm > maxNorm ? maxNorm / (norm + 1e-6) : 1
}

/// Raw-buffer loops shared by the optimizers.
enum OptimKernels {
    /// Elements per thread below which reductions run on one thread.
    static let grain = 65_536

    /// `Σ x²` over all elements of `gradients`: host tensors with the SIMD loop below, tensors on a GPU by device ops (`(g · g).sum()`, one float32 sum per device, read back
    /// once per device), added up in `Double`.
    static func sumOfSquares(_ gradients: [Tensor]) -> Double {
        var total: Double = 0
        var deviceTotals: [Device: Tensor] = [:]
        withNoGrad {
            for gradient in gradients {
                if gradient.device == .cpu {
                    total += gradient.withUnsafeFloats { sumOfSquares($0) }
                } else {
                    let squares = (gradient * gradient).sum()
                    deviceTotals[gradient.device] = deviceTotals[gradient.device].map { $0 + squares } ?? squares
                }
            }
        }
        for device in deviceTotals.keys.sorted(by: { $0.description < $1.description }) {
            total += Double(deviceTotals[device]!.item())
        }
        return total
    }

    /// `Σ x²` over `buffer`, accumulated in `Float` SIMD lanes within blocks of 4096 elements and in
    /// `Double` across blocks and threads.
    static func sumOfSquares(_ buffer: UnsafeBufferPointer<Float>) -> Double {
        let count = buffer.count
        guard count > 0, let base = buffer.baseAddress else { return 0 }
        let chunks = min(Threading.threadCount, max(1, count / grain))
        if chunks == 1 { return sumOfSquares(base, 0..<count) }
        let size = (count + chunks - 1) / chunks
        var partials = [Double](repeating: 0, count: chunks)
        partials.withUnsafeMutableBufferPointer { partials in
            let output = partials.baseAddress!
            // One task per chunk, so each writes its own slot whatever the thread split.
            Threading.parallelFor(chunks, grain: 1) { first, last in
                for chunk in first..<last {
                    output[chunk] = sumOfSquares(base, (chunk * size)..<min(count, (chunk + 1) * size))
                }
            }
        }
        return partials.reduce(0, +)
    }

    private static func sumOfSquares(_ x: UnsafePointer<Float>, _ range: Range<Int>) -> Double {
        var total: Double = 0
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(range.upperBound, start + 4096)
            var lanes = SIMD8<Float>()
            var i = start
            while i + 8 <= end {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                lanes += v * v
                i += 8
            }
            var block = Double(lanes.sum())
            while i < end {
                block += Double(x[i]) * Double(x[i])
                i += 1
            }
            total += block
            start = end
        }
        return total
    }
}
